"""Permit versions built directly, for pipeline tests that need no workflow."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hdab.applications.api import PermitVersion
from hdab.applications.domain import DataSpecification, Person

APPROVED = datetime(2026, 9, 1, 12, tzinfo=UTC)


def permit_version(
    permit_id: str, datasets: list[dict[str, Any]], *, version: int = 1, approved_at: datetime = APPROVED
) -> PermitVersion:
    return PermitVersion(
        permit_id=permit_id,
        version=version,
        application_id="app-" + permit_id,
        approved_at=approved_at,
        approved_by="leder@idp",
        purpose="e",
        specification=DataSpecification.model_validate({"datasets": datasets}),
        persons=(Person(email="pi@uio.no", name="Kari Nordmann"),),
        valid_from=date(2026, 9, 1),
        valid_until=date(2029, 12, 31),
        delete_data_by=date(2030, 6, 30),
        environment="SPE",
        tools="R",
        fee_amount=Decimal(0),
        fee_currency="NOK",
        conditions=(),
        optout_exception=None,
        first_approved_at=approved_at,
        change="issued",
    )
