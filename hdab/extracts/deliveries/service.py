"""Use cases of deliveries: who may read which, the access log, receipts, deletion when due.

The caller's edge commits; nothing here commits.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hdab.applications import api as applications
from hdab.core import audit, clock
from hdab.core.auth import Principal, Role
from hdab.core.errors import Forbidden, NotFound
from hdab.extracts.deliveries import repository
from hdab.extracts.deliveries.domain import STAFF, ReceiptOutcome
from hdab.extracts.deliveries.models import Delivery, DeliveryAccess, DeliveryReceipt

log = logging.getLogger(__name__)


def registry_provenance(delivery_path: str | None) -> dict[str, Any] | None:
    """The registry provenance a delivery's manifest (or statistics answer) copied; None: none.

    Read from the delivered file, so a delivery that has been deleted no longer says.
    """
    if delivery_path is None:
        return None
    for name in ("manifest.json", "answer.json"):
        path = Path(delivery_path) / name
        if path.is_file():
            try:
                provenance = json.loads(path.read_text(encoding="utf-8")).get("registry_provenance")
            except (OSError, ValueError, AttributeError):
                return None
            return provenance if isinstance(provenance, dict) else None
    return None


def _standing(session: Session, permit_id: str) -> applications.PermitStanding:
    return applications.permit_standing(session, permit_id)


def visible_deliveries(session: Session, principal: Principal, permit_id: str | None) -> list[Delivery]:
    """Staff see every delivery; a recipient only its organisation's, of permits still open."""
    query = repository.visible_to(principal, permit_id)
    if query is None:
        raise Forbidden("deliveries are fetched by recipient organisations' machine clients")
    if principal.has_role(*STAFF):
        return list(session.scalars(query))
    rows = session.scalars(query)
    open_permits: dict[str, bool] = {}  # one fold of each permit's case, not one per delivery
    visible = []
    for delivery in rows:
        if delivery.permit_id not in open_permits:
            open_permits[delivery.permit_id] = _standing(session, delivery.permit_id).open
        if open_permits[delivery.permit_id]:
            visible.append(delivery)
    return visible


def delivery_for(session: Session, principal: Principal, delivery_id: str) -> Delivery:
    """The delivery if the caller may read it now; otherwise 404, as if it did not exist."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.deleted_at is not None:
        raise NotFound("no such delivery")
    if principal.has_role(*STAFF):
        return delivery
    if (
        not principal.has_role(Role.RECIPIENT)
        or principal.organisation is None
        or delivery.recipient_organisation != principal.organisation
        or not _standing(session, delivery.permit_id).open  # revoked or expired: access ends at once
    ):
        raise NotFound("no such delivery")
    return delivery


def delivered_file(delivery: Delivery, name: str) -> tuple[Path, dict[str, Any]]:
    """A file of the delivery by its manifest name (never a path the caller makes up)."""
    if name == "manifest.json":
        path = Path(delivery.path) / name
        return path, {"name": name, "sha256": delivery.manifest_sha256, "bytes": path.stat().st_size}
    entry = next((f for f in delivery.files if f["name"] == name), None)
    if entry is None:
        raise NotFound(f"the delivery has no file {name!r}")
    return Path(delivery.path) / name, entry


def log_access(
    session: Session, principal: Principal, delivery: Delivery, name: str, byte_range: str | None
) -> None:
    """Art. 73(1)(e): every read of a delivered file, by whom and when (kept at least a year)."""
    session.add(
        DeliveryAccess(
            delivery_id=delivery.id,
            permit_id=delivery.permit_id,
            actor=principal.actor,
            organisation=principal.organisation,
            file=name,
            byte_range=byte_range[:100] if byte_range else None,
            at=clock.now(),
        )
    )


def access_log(session: Session, permit_id: str) -> list[DeliveryAccess]:
    return list(session.scalars(repository.access_log(permit_id)))


def confirm_receipt(
    session: Session, principal: Principal, delivery_id: str, checksums: dict[str, str]
) -> Delivery:
    """A client of the recipient confirms what it received with the checksums it computed.

    Each client keeps its own receipt beside the others' (a second client of the organisation adds
    one, it never replaces the first); the same confirmation again changes nothing, and a client
    that confirms anew (after fetching again) replaces only its own. A mismatch is flagged.
    """
    delivery = delivery_for(session, principal, delivery_id)
    expected = {f["name"]: f["sha256"] for f in delivery.files}
    mismatched = sorted(n for n in expected if checksums.get(n, "").lower() != expected[n])
    unknown = sorted(set(checksums) - set(expected))
    mismatch = bool(mismatched or unknown)
    mine = _receipt_of(session, delivery.id, principal.actor)
    if mine is None:
        try:
            with session.begin_nested():
                session.add(
                    DeliveryReceipt(
                        delivery_id=delivery.id,
                        client=principal.actor,
                        organisation=principal.organisation,
                        checksums=checksums,
                        mismatched=mismatched,
                        unknown=unknown,
                        mismatch=mismatch,
                        at=clock.now(),
                    )
                )
        except IntegrityError:  # the same client's receipt arrived at the same moment
            mine = _receipt_of(session, delivery.id, principal.actor)
    replaced = mine is not None
    if mine is not None:
        if mine.checksums == checksums:  # the same receipt again: recorded already
            return delivery
        mine.checksums, mine.mismatched, mine.unknown, mine.mismatch = (
            checksums,
            mismatched,
            unknown,
            mismatch,
        )
        mine.organisation, mine.at = principal.organisation, clock.now()
    audit.record(
        session,
        actor=principal.actor,
        action=ReceiptOutcome.of(mismatch),
        object_type="delivery",
        object_id=delivery.id,
        details={"mismatched": mismatched, "unknown": unknown, "replaced_own": replaced},
    )
    if mismatch:
        log.warning(
            "delivery %s: the recipient's checksums do not match (%s)", delivery.id, ", ".join(mismatched)
        )
    return delivery


def _receipt_of(session: Session, delivery_id: str, client: str) -> DeliveryReceipt | None:
    return session.scalars(repository.receipt_of(delivery_id, client)).one_or_none()


def receipts(session: Session, delivery_ids: list[str]) -> dict[str, list[DeliveryReceipt]]:
    """Every client's receipt of each delivery, oldest first."""
    found: dict[str, list[DeliveryReceipt]] = {delivery_id: [] for delivery_id in delivery_ids}
    rows = session.scalars(repository.receipts_of(delivery_ids))
    for row in rows:
        found[row.delivery_id].append(row)
    return found


def delete_due(session: Session, today: date) -> list[Delivery]:
    """Delete every delivery whose permit's deletion date has come (Art. 68(12)), with a certificate."""
    deleted = []
    for delivery in session.scalars(repository.not_deleted()).all():
        standing = _standing(session, delivery.permit_id)
        if standing.delete_data_by is None or today < standing.delete_data_by:
            continue
        shutil.rmtree(delivery.path, ignore_errors=True)
        now = clock.now()
        delivery.deleted_at = now
        delivery.deletion_certificate = {
            "delivery_id": delivery.id,
            "permit_id": delivery.permit_id,
            "delete_data_by": standing.delete_data_by.isoformat(),
            "deleted_at": now.isoformat(),
            "path": delivery.path,
            "files": [
                {"name": f["name"], "sha256": f["sha256"], "bytes": f.get("bytes")} for f in delivery.files
            ],
            "manifest_sha256": delivery.manifest_sha256,
        }
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="delivery.deleted",
            object_type="delivery",
            object_id=delivery.id,
            details={"permit_id": delivery.permit_id, "files": len(delivery.files)},
        )
        deleted.append(delivery)
    return deleted


def of_permit(session: Session, permit_id: str) -> list[Delivery]:
    """Every delivery of a permit, deleted ones too, by number (the caseworkers' page)."""
    return list(session.scalars(repository.of_permit(permit_id)))


@dataclass(frozen=True)
class NextNumber:
    """Where the next delivery of a permit goes in its series: its number and its predecessor."""

    number: int
    predecessor: str | None


def next_number(session: Session, permit_id: str) -> NextNumber:
    last = session.scalars(repository.last_of_permit(permit_id)).first()
    return NextNumber(last.number + 1, last.id) if last is not None else NextNumber(1, None)


def record(
    session: Session,
    *,
    delivery_id: str,
    permit_id: str,
    permit_version: int,
    recipient_organisation: str | None,
    folder: Path,
    manifest_sha256: str,
) -> None:
    """Record a delivery the pipeline has put in the room, from its manifest (once: a repeat does nothing)."""
    if session.get(Delivery, delivery_id) is not None:  # recorded by the run that was cut short
        return
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    session.add(
        Delivery(
            id=delivery_id,
            permit_id=permit_id,
            number=manifest["delivery_number"],
            predecessor=manifest["predecessor"],
            permit_version=permit_version,
            recipient_organisation=recipient_organisation,
            path=str(folder),
            files=manifest["files"],
            manifest_sha256=manifest_sha256,
            delivered_at=clock.now(),
        )
    )
