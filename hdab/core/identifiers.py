"""Norwegian identifiers: person numbers (DOMAIN.md section 3) and organisation numbers.

Validation only: no function here derives sex or century from a person number, because numbers
issued from 2032 no longer encode them.
"""

from __future__ import annotations

import enum
import re

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
ELEVEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")


class PersonNumberKind(enum.StrEnum):
    FODSELSNUMMER = "fodselsnummer"
    D_NUMMER = "d-nummer"
    H_NUMMER = "h-nummer"
    FH_NUMMER = "fh-nummer"


class InvalidIdentifier(ValueError):
    """The value is not a valid identifier; the message says why."""


def _ascii_digits(value: object, length: int) -> bool:
    # str.isdigit() and int() accept any Unicode digit (full-width, Arabic-Indic ...): ASCII only
    return isinstance(value, str) and len(value) == length and value.isascii() and value.isdigit()


def _weighted_remainder(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11


def _control_ok(number: str) -> bool:
    # k1: before 2032, 11 - (sum mod 11) with 11 -> 0 and 10 invalid, i.e. the full weighted sum
    # including k1 (weight 1) is 0 mod 11. From 2032 the remainder may also be 1, 2 or 3 (Skatteetaten).
    k1_remainder = _weighted_remainder(number[:10], (*_K1_WEIGHTS, 1))
    if k1_remainder not in (0, 1, 2, 3):
        return False
    # k2 is unchanged: 11 - (sum mod 11), 11 -> 0, 10 invalid.
    k2 = 11 - _weighted_remainder(number[:10], _K2_WEIGHTS)
    if k2 == 11:
        k2 = 0
    return k2 != 10 and k2 == int(number[10])


def _valid_date(day: int, month: int) -> bool:
    days_in_month = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= days_in_month[month - 1]


def person_number_kind(value: str, *, allow_synthetic: bool = True) -> PersonNumberKind:
    """Validate a Norwegian person number and say which kind it is.

    Synthetic test numbers (Tenor: month + 80) are accepted only with ``allow_synthetic``.
    """
    if not _ascii_digits(value, 11):
        raise InvalidIdentifier("a person number has exactly 11 digits")
    if not _control_ok(value):
        raise InvalidIdentifier("the control digits do not match (mod 11)")
    first = int(value[0])
    if first in (8, 9):
        return PersonNumberKind.FH_NUMMER
    day, month = int(value[0:2]), int(value[2:4])
    kind = PersonNumberKind.FODSELSNUMMER
    if day > 40:
        day -= 40
        kind = PersonNumberKind.D_NUMMER
    if month > 80:
        if not allow_synthetic:
            raise InvalidIdentifier("synthetic test numbers (Tenor, month + 80) are not accepted")
        month -= 80
    elif month > 40:
        month -= 40
        if kind is PersonNumberKind.D_NUMMER:
            raise InvalidIdentifier("a number cannot be both a D-number and an H-number")
        kind = PersonNumberKind.H_NUMMER
    if not _valid_date(day, month):
        raise InvalidIdentifier("the number does not contain a valid date")
    return kind


def is_person_number(value: str) -> bool:
    try:
        person_number_kind(value)
    except InvalidIdentifier:
        return False
    return True


UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


DIGIT_RUN = re.compile(r"[0-9]{11,}")


def contains_person_number(text: str) -> bool:
    """True when ``text`` holds eleven consecutive digits that validate as a person number.

    Every eleven-digit window of a longer run counts too (``x0101801001801018010018`` holds one).
    UUIDs are set aside first: a random UUID's hex can hold such a run (about once in 10^5 ids),
    and an id is never a person number.
    """
    for match in DIGIT_RUN.finditer(UUID.sub("-", text)):
        run = match.group(0)
        if any(is_person_number(run[i : i + 11]) for i in range(len(run) - 10)):
            return True
    return False


def validate_organisation_number(value: str) -> str:
    """A 9-digit Enhetsregisteret number with its mod-11 control digit."""
    if not _ascii_digits(value, 9):
        raise InvalidIdentifier("an organisation number has exactly 9 digits")
    control = 11 - _weighted_remainder(value[:8], _ORG_WEIGHTS)
    if control == 11:
        control = 0
    if control == 10 or control != int(value[8]):
        raise InvalidIdentifier("the organisation number's control digit does not match (mod 11)")
    return value
