"""Reception's response models and presenters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from hdab.reception.types import MessageType


class PublicKeyOut(BaseModel):
    id: str = Field(description="put it in the DPoP proof's enc_key_id")
    expirationDate: datetime
    publicKey: str = Field(description="PEM (SubjectPublicKeyInfo), RSA; wrap with RSA-OAEP-SHA256")


class MessageTypeOut(BaseModel):
    type: str
    version: str
    title: str
    dataset: str = Field(description="the catalogue dataset (registry table) it feeds")
    schema_url: str
    example_url: str
    senders: list[str] = Field(description="the kinds of submitter registered for it by default")


def message_type_out(kind: MessageType, url_for: Callable[..., Any]) -> MessageTypeOut:
    return MessageTypeOut(
        type=kind.name,
        version=kind.version,
        title=kind.title,
        dataset=kind.dataset,
        schema_url=str(url_for("reception_schema", name=kind.name, version=kind.version)),
        example_url=str(url_for("reception_example", name=kind.name, version=kind.version)),
        senders=list(kind.senders),
    )


class ErrorOut(BaseModel):
    errorCode: int
    propertyName: str | None
    errorMessage: str
    errorDetails: Any = None


class ReceiptOut(BaseModel):
    delivered: bool
    errors: list[ErrorOut]
    records: int | None = None
    deletions: int | None = None
    sequence: int | None = Field(None, description="the message's number in its unit's series")
    dryRun: bool | None = None
    valid: bool | None = None


class StreamOut(BaseModel):
    message_type: str
    last_sequence: int
    last_extraction: date | None
    last_received_at: datetime | None
    messages: int
    records: int
    missing_days: int = Field(description="extraction days skipped between accepted messages")
    mean_lag_hours: float | None = Field(description="extraction date to receipt, on average")


class StatusOut(BaseModel):
    unit: str
    name: str | None
    registered: bool
    message_types: list[str]
    streams: list[StreamOut]
    rejected: int
    error_rate: float | None = Field(description="refused / (accepted + refused) messages")
