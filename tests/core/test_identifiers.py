"""Norwegian person numbers (DOMAIN.md section 3) and organisation numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hdab.core.identifiers import (
    InvalidIdentifier,
    PersonNumberKind,
    contains_person_number,
    person_number_kind,
    validate_organisation_number,
)

K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def with_controls(nine: str, k1_remainder: int = 0) -> str | None:
    """Complete nine digits with control digits; k1_remainder > 0 makes a post-2032 number."""
    s1 = sum(int(d) * w for d, w in zip(nine, K1, strict=True))
    k1 = (k1_remainder - s1) % 11
    if k1 == 10:
        return None
    ten = nine + str(k1)
    k2 = 11 - sum(int(d) * w for d, w in zip(ten, K2, strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    return None if k2 == 10 else ten + str(k2)


def test_known_valid_fodselsnummer() -> None:
    assert person_number_kind("01010012356") is PersonNumberKind.FODSELSNUMMER


def test_wrong_control_digit_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="control digits"):
        person_number_kind("01010012357")


@pytest.mark.parametrize("value", ["0101001235", "010100123567", "0101001235a", ""])
def test_wrong_shape_is_refused(value: str) -> None:
    with pytest.raises(InvalidIdentifier, match="11 digits"):
        person_number_kind(value)


def test_d_number_h_number_and_fh_number() -> None:
    d = with_controls("410190123")
    h = with_controls("014190123")
    fh = with_controls("812345678")
    assert d and h and fh
    assert person_number_kind(d) is PersonNumberKind.D_NUMMER
    assert person_number_kind(h) is PersonNumberKind.H_NUMMER
    assert person_number_kind(fh) is PersonNumberKind.FH_NUMMER


@pytest.mark.parametrize("remainder", [1, 2, 3])
def test_numbers_issued_from_2032_accept_k1_remainders_up_to_3(remainder: int) -> None:
    number = with_controls("150790123", remainder) or with_controls("150790124", remainder)
    assert number is not None
    assert person_number_kind(number) is PersonNumberKind.FODSELSNUMMER


def test_k1_remainder_4_is_never_valid() -> None:
    number = with_controls("150790123", 4) or with_controls("150790124", 4)
    assert number is not None
    with pytest.raises(InvalidIdentifier):
        person_number_kind(number)


def test_synthetic_tenor_numbers_only_when_allowed() -> None:
    tenor = with_controls("018190123") or with_controls("018190124")  # month 01 + 80
    assert tenor is not None
    assert person_number_kind(tenor) is PersonNumberKind.FODSELSNUMMER
    with pytest.raises(InvalidIdentifier, match="synthetic"):
        person_number_kind(tenor, allow_synthetic=False)


def test_impossible_date_is_refused() -> None:
    number = with_controls("320190123") or with_controls("320190124")
    assert number is not None
    with pytest.raises(InvalidIdentifier, match="date"):
        person_number_kind(number)


@given(
    day=st.integers(1, 28),
    month=st.integers(1, 12),
    year=st.integers(0, 99),
    individual=st.integers(0, 999),
    remainder=st.sampled_from([0, 1, 2, 3]),
)
def test_every_number_with_correct_controls_validates(
    day: int, month: int, year: int, individual: int, remainder: int
) -> None:
    number = with_controls(f"{day:02d}{month:02d}{year:02d}{individual:03d}", remainder)
    if number is not None:
        assert person_number_kind(number) is PersonNumberKind.FODSELSNUMMER
        assert contains_person_number(f"patient {number} admitted")


def test_contains_person_number_ignores_other_digit_runs() -> None:
    assert not contains_person_number("order 12345678901 and 983744516")
    assert contains_person_number("pid=01010012356")


def test_organisation_number() -> None:
    assert validate_organisation_number("983744516") == "983744516"  # FHI
    with pytest.raises(InvalidIdentifier, match="control digit"):
        validate_organisation_number("983744517")
    with pytest.raises(InvalidIdentifier, match="9 digits"):
        validate_organisation_number("98374451")


def test_a_uuid_whose_hex_holds_a_person_number_is_not_one() -> None:
    from hdab.core.identifiers import contains_person_number

    # a random UUID can end in 11 decimal digits that validate (CI met one as a job id)
    unlucky = "5f0c2b1e-9d3a-4c1b-8e2f-a01010012356"
    assert contains_person_number("01010012356") and contains_person_number("pid=01010012356;")
    assert not contains_person_number(unlucky)
    assert not contains_person_number(f"job {unlucky} delivered")
    assert contains_person_number(f"job {unlucky} for 01010012356")


# str.isdigit() and int() take these as digits; an identifier must not
FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + i) for i in range(10)))
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + i) for i in range(10)))


def other_digits(number: str) -> list[str]:
    return [
        number.translate(FULL_WIDTH),
        number.translate(ARABIC_INDIC),
        number[:-1] + number[-1].translate(ARABIC_INDIC),  # one among ASCII ones
    ]


@pytest.mark.parametrize("value", other_digits("01010012356"))
def test_a_person_number_has_ascii_digits_only(value: str) -> None:
    assert person_number_kind("01010012356") is PersonNumberKind.FODSELSNUMMER
    with pytest.raises(InvalidIdentifier, match="11 digits"):
        person_number_kind(value)
    assert not contains_person_number(f"pid={value}")


@pytest.mark.parametrize("value", other_digits("983744516"))
def test_an_organisation_number_has_ascii_digits_only(value: str) -> None:
    with pytest.raises(InvalidIdentifier, match="9 digits"):
        validate_organisation_number(value)


def test_a_person_number_inside_a_longer_run_of_digits_is_found() -> None:
    """An opaque subject like ``x01018010018 1`` without the space once went into the audit log in clear."""
    from hdab.core.identifiers import is_person_number

    number = "01018010018"
    assert is_person_number(number)
    for text in (f"x{number}1", f"{number}{number}", f"111111111111{number}", "user:" + number * 50):
        assert contains_person_number(text), text
    assert not contains_person_number("1234567890")  # ten digits
