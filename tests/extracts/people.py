"""Valid synthetic person numbers for tests (control digits computed, as the registries' are)."""

from __future__ import annotations

from hdab.core.identifiers import InvalidIdentifier, person_number_kind

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _control(digits: str, weights: tuple[int, ...]) -> int | None:
    k = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return None if k == 10 else (0 if k == 11 else k)


def person_number(day: int, month: int, year: int, start: int = 0) -> str:
    """The first valid number at or after individual number ``start`` (day + 40: D-number)."""
    for individual in range(start, 1000):
        nine = f"{day:02d}{month:02d}{year % 100:02d}{individual:03d}"
        k1 = _control(nine, _K1)
        if k1 is None:
            continue
        k2 = _control(nine + str(k1), _K2)
        if k2 is None:
            continue
        number = f"{nine}{k1}{k2}"
        try:
            person_number_kind(number)
        except InvalidIdentifier:
            continue
        return number
    raise ValueError("no valid number")


def people(count: int) -> list[str]:
    return [person_number(1 + i % 28, 1 + (i // 28) % 12, 1950 + i % 50, 500 + i % 400) for i in range(count)]
