"""The language of deliveries: who may read them and what a receipt says. No I/O."""

from __future__ import annotations

import enum

from hdab.core.auth import Role

# The access body's staff see every delivery; a recipient only its organisation's.
STAFF = (Role.CASEWORKER, Role.ADMIN)


class ReceiptOutcome(enum.StrEnum):
    """What a recipient's confirmation found, as the audit entry names it."""

    CONFIRMED = "delivery.receipt_confirmed"  # every checksum is ours
    MISMATCH = "delivery.receipt_mismatch"  # a file differs, or a name is no file of the delivery

    @classmethod
    def of(cls, mismatch: bool) -> ReceiptOutcome:
        return cls.MISMATCH if mismatch else cls.CONFIRMED
