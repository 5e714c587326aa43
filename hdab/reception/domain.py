"""The language of reception: error codes, receipts, and what a refused message is told.

The codes are SLASH's (1xxx: headers, keys, decryption; 2xxx: authorisation, schema, storage), so
that an EPJ vendor who integrated with FHI's receiver reads ours the same way. Codes SLASH does not
have are ours, in their own range (2100 and up), and documented with the API.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

# The wire's headers (SLASH's names) and ours for the order of a unit's messages
VENDOR_HEADERS = ("x-vendor-name", "x-software-name", "x-software-version", "x-export-software-version")
EXTRACTION_HEADER = "x-data-extraction-date"  # dd.MM.yyyy
SEQUENCE_HEADER = "x-message-sequence"  # ours: 1, 2, 3, ... per unit and message type
PROOF_CLAIMS = ("msg_type", "msg_version", "msg_hash", "enc_sym_key", "enc_key_id")
MAX_BODY_BYTES = 15 * 1024 * 1024  # SLASH: larger payloads are refused with 2009
RECORD_ID_BASE = 10**12  # registry record ids of received records start here: never a synthetic one's


class Code(enum.IntEnum):
    HTTP_HEADER_MISSING = 1001
    HTTP_HEADER_VALIDATION = 1002
    INVALID_MESSAGE_TYPE_VERSION = 1003
    INVALID_KEY_ID = 1004
    INVALID_DIGEST = 1005
    PAYLOAD_HASH_MISMATCH = 1006
    EXPIRED_KEY = 1007
    DECRYPTION_ERROR_FOR_ASYMMETRICAL_KEY = 1008
    DECRYPTION_ERROR_FOR_SYMMETRICAL_KEY = 1009
    ORGANISATION_NOT_ALLOWED_MESSAGE_TYPE = 2001
    MISSING_ORGANISATION_NUMBER_CLAIM = 2002
    MISSING_SIGNATURE_CLAIM = 2003
    BAD_SIGNATURE_CLAIM = 2004
    SIGNATURE_DOES_NOT_MATCH_HEADERS = 2005
    SCHEMA_NOT_FOUND = 2006
    INVALID_JSON_MESSAGE = 2007
    SCHEMA_VALIDATION_FAILED = 2008
    PAYLOAD_SIZE_LIMIT_EXCEEDED = 2009
    STORAGE_ERROR = 2010
    # ours
    NOT_AUTHENTICATED = 2100
    OUT_OF_ORDER = 2101  # a sequence number skipped or going back: send the missing ones first
    SEQUENCE_ALREADY_USED = 2102  # this sequence number was accepted with another payload
    EXTRACTION_DATE_BACKWARDS = 2103  # an earlier extraction date than the last accepted message's
    DUPLICATE_LOCAL_ID = 2104  # one message names the same record twice


# the HTTP status each code answers with: 4xx the sender fixes and re-sends, 5xx it retries
STATUS: dict[Code, int] = {
    **dict.fromkeys(Code, 400),
    Code.NOT_AUTHENTICATED: 401,
    Code.ORGANISATION_NOT_ALLOWED_MESSAGE_TYPE: 403,
    Code.MISSING_ORGANISATION_NUMBER_CLAIM: 403,
    Code.OUT_OF_ORDER: 409,
    Code.SEQUENCE_ALREADY_USED: 409,
    Code.EXTRACTION_DATE_BACKWARDS: 409,
    Code.PAYLOAD_SIZE_LIMIT_EXCEEDED: 413,
    Code.STORAGE_ERROR: 503,
}


@dataclass(frozen=True)
class Error:
    code: Code
    message: str
    property_name: str | None = None
    details: Any = None

    def as_json(self) -> dict[str, Any]:
        return {
            "errorCode": int(self.code),
            "propertyName": self.property_name,
            "errorMessage": f"Error: {_camel(self.code)} | {self.message}",
            "errorDetails": self.details,
        }


class Refused(Exception):
    """The message is refused; the receipt lists why."""

    def __init__(self, *errors: Error) -> None:
        super().__init__(", ".join(f"{e.code.value} {e.message}" for e in errors))
        self.errors = errors

    @property
    def status(self) -> int:
        return max(STATUS[e.code] for e in self.errors)


def refused(code: Code, message: str, property_name: str | None = None, details: Any = None) -> Refused:
    return Refused(Error(code, message, property_name, details))


@dataclass(frozen=True)
class Receipt:
    """What the sender is told: delivered or not, why not, and the id we know the delivery by."""

    correlation_id: str
    delivered: bool
    errors: tuple[Error, ...] = ()
    records: int = 0
    deletions: int = 0
    sequence: int | None = None
    dry_run: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        if self.delivered or not self.errors:
            return 200
        return max(STATUS[e.code] for e in self.errors)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"delivered": self.delivered, "errors": [e.as_json() for e in self.errors]}
        if self.delivered or self.dry_run:
            body.update({"records": self.records, "deletions": self.deletions, "sequence": self.sequence})
        if self.dry_run:
            body["dryRun"] = True
            body["valid"] = not self.errors
        return body


def _camel(code: Code) -> str:
    return "".join(part.capitalize() for part in code.name.split("_"))
