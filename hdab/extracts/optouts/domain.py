"""The opt-out registry (EHDS Art. 71): who has opted out of secondary use, and since when.

A citizen may opt out at any time without giving a reason, and reverse it. Data of a person who
opted out are not made available under permits or requests approved after the opt-out; earlier
permits are unaffected. So the question is always "was this person opted out at time T?", answered
from the whole history: the latest event at or before T decides.

Identifiers are validated (mod 11, D-numbers, the 2032 rule) and never stored: only a keyed hash
(HMAC-SHA-256 under ``HDAB_OPTOUT_HASH_KEY``) is, so the table cannot be enumerated back.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime

from hdab.core import clock
from hdab.core.errors import FieldError
from hdab.core.identifiers import InvalidIdentifier, person_number_kind


class Action(enum.StrEnum):
    OPT_OUT = "opt_out"
    REVERSE = "reverse"


def person_hash(key: str, identifier: str) -> str:
    """The keyed hash under which an opt-out is stored; the pipeline computes the same in SQL."""
    return hmac.new(key.encode("utf-8"), identifier.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ImportLine:
    line: int
    identifier: str
    time: datetime
    action: Action


HEADER = ["identifier", "time", "action"]
MAX_LINES = 1_000_000


def parse_import(text: str, *, allow_synthetic: bool) -> tuple[list[ImportLine], list[FieldError]]:
    """Read an external registry file; every invalid line is reported, with its number."""
    errors: list[FieldError] = []
    lines: list[ImportLine] = []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != HEADER:
        return [], [FieldError("line 1", f"the header must be {','.join(HEADER)}")]
    for number, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if number > MAX_LINES + 1:
            errors.append(FieldError(f"line {number}", f"a file may hold at most {MAX_LINES} lines"))
            break
        if len(row) != 3:
            errors.append(FieldError(f"line {number}", f"expected 3 fields, found {len(row)}"))
            continue
        identifier, time_text, action_text = (cell.strip() for cell in row)
        problems = []
        try:
            person_number_kind(identifier, allow_synthetic=allow_synthetic)
        except InvalidIdentifier as exc:
            problems.append(f"identifier: {exc}")
        try:
            time = datetime.fromisoformat(time_text)
            if time.tzinfo is None:
                problems.append("time: give a time zone, e.g. 2026-05-01T12:00:00+02:00")
            else:
                time = clock.in_utc(time)
        except clock.OutOfRange as exc:
            problems.append(f"time: {exc}")
        except ValueError:
            problems.append("time: not an ISO 8601 date and time")
        if action_text not in Action._value2member_map_:
            problems.append("action: must be opt_out or reverse")
        if problems:
            # never echo the identifier itself back: the message may end up in a log
            errors.append(FieldError(f"line {number}", "; ".join(problems)))
            continue
        lines.append(ImportLine(number, identifier, time, Action(action_text)))
    return lines, errors
