"""Permit versions built directly, for pipeline tests that need no workflow."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hdab.applications.api import PermitVersion
from hdab.applications.domain import DataSpecification, Person
from hdab.extracts.pipeline import plan as planning
from hdab.extracts.pipeline import steps
from hdab.extracts.pipeline.run import Keys, Outcome, run_plan

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


def extract_now(
    registry: Path,
    spe: Path,
    permit_id: str,
    datasets: list[dict[str, Any]],
    *,
    min_k: int = 5,
    disclosure: Mapping[str, planning.Disclosure] | None = None,
    plan_version: int = planning.PLAN_VERSION,
    max_suppressed_share: float = steps.MAX_SUPPRESSED_SHARE,
) -> Outcome:
    """Plan a one-version permit for ``datasets`` and run it in this process, no opt-outs."""
    plan = planning.plan_for_permit(
        [permit_version(permit_id, datasets)], min_k, disclosure=disclosure, plan_version=plan_version
    )
    return run_plan(
        plan,
        registry=registry,
        spe_root=spe,
        delivery_id="d1",
        keys=Keys(steps.permit_key("m" * 40, permit_id), b"o" * 32),
        opted_out=lambda _at: frozenset(),
        optout_receipt=lambda at: {"as_of": at.isoformat()},
        dictionary={},
        principals=["kari@idp"],
        max_suppressed_share=max_suppressed_share,
        work_root=spe.parent / (spe.name + "-work"),
    )
