"""The opt-out registry's response models: what its JSON routes answer."""

from __future__ import annotations

from pydantic import BaseModel


class OptOutStatus(BaseModel):
    opted_out: bool


class OptOutRecorded(BaseModel):
    opted_out: bool
    since: str  # when it took effect (ISO 8601)


class OptOutReversed(BaseModel):
    opted_out: bool
    reversed_at: str  # when it took effect (ISO 8601)


class OptOutImport(BaseModel):
    lines: int
    added: int  # events not known before
    sha256: str  # of the imported file
