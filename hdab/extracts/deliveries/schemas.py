"""Deliveries' request and response models, and their presenter."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hdab.extracts.deliveries.models import Delivery, DeliveryReceipt


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=255)],
        Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")],
    ] = Field(description="file name -> the SHA-256 (hex) the recipient computed", max_length=1000)


class DeliveredFile(BaseModel):
    name: str
    sha256: str
    bytes: int | None


class DeliveryReceiptView(BaseModel):
    by: str  # the client that confirmed, as the audit log names it
    organisation: str | None
    at: str
    checksums: dict[str, str]
    mismatched: list[str]
    unknown: list[str]
    mismatch: bool


class DeliveryView(BaseModel):
    id: str
    permit_id: str
    number: int
    predecessor: str | None
    permit_version: int
    delivered_at: str
    files: list[DeliveredFile]
    manifest_sha256: str
    receipts: list[DeliveryReceiptView]
    receipt_mismatch: bool


class DeliveryList(BaseModel):
    items: list[DeliveryView]


class AccessLogEntry(BaseModel):
    delivery_id: str
    actor: str
    organisation: str | None
    file: str
    range: str | None
    at: str


class AccessLog(BaseModel):
    items: list[AccessLogEntry]


def delivery_view(delivery: Delivery, receipts: list[DeliveryReceipt]) -> dict[str, Any]:
    """A delivery with every client's receipt, as the API answers it."""
    return {
        "id": delivery.id,
        "permit_id": delivery.permit_id,
        "number": delivery.number,
        "predecessor": delivery.predecessor,
        "permit_version": delivery.permit_version,
        "delivered_at": delivery.delivered_at.isoformat(),
        "files": [
            {"name": f["name"], "sha256": f["sha256"], "bytes": f.get("bytes")} for f in delivery.files
        ],
        "manifest_sha256": delivery.manifest_sha256,
        "receipts": [
            {
                "by": r.client,
                "organisation": r.organisation,
                "at": r.at.isoformat(),
                "checksums": r.checksums,
                "mismatched": r.mismatched,
                "unknown": r.unknown,
                "mismatch": r.mismatch,
            }
            for r in receipts
        ],
        "receipt_mismatch": any(r.mismatch for r in receipts),
    }
