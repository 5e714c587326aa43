"""Queries of deliveries, receipts and the access log, as ``select()`` statements.

``visible_to`` is the one statement that says which deliveries a principal may list: staff every one
not deleted, a recipient its organisation's (the service then leaves out those of permits that ended).
"""

from __future__ import annotations

from sqlalchemy import Select, select

from hdab.core.auth import Principal, Role
from hdab.extracts.deliveries.domain import STAFF
from hdab.extracts.deliveries.models import Delivery, DeliveryAccess, DeliveryReceipt


def undeleted(permit_id: str | None = None) -> Select[Delivery]:
    """Deliveries not deleted, in order of permit and number (of one permit when named)."""
    query = (
        select(Delivery).where(Delivery.deleted_at.is_(None)).order_by(Delivery.permit_id, Delivery.number)
    )
    if permit_id is not None:
        query = query.where(Delivery.permit_id == permit_id)
    return query


def visible_to(principal: Principal, permit_id: str | None = None) -> Select[Delivery] | None:
    """The deliveries the principal may list; None: it may list none (neither staff nor a recipient)."""
    query = undeleted(permit_id)
    if principal.has_role(*STAFF):
        return query
    if not principal.has_role(Role.RECIPIENT) or principal.organisation is None:
        return None
    return query.where(Delivery.recipient_organisation == principal.organisation)


def of_permit(permit_id: str) -> Select[Delivery]:
    """Every delivery of a permit, deleted ones too, by number."""
    return select(Delivery).where(Delivery.permit_id == permit_id).order_by(Delivery.number)


def last_of_permit(permit_id: str) -> Select[Delivery]:
    """The permit's latest delivery (its number is the highest)."""
    return select(Delivery).where(Delivery.permit_id == permit_id).order_by(Delivery.number.desc()).limit(1)


def receipt_of(delivery_id: str, client: str) -> Select[DeliveryReceipt]:
    return select(DeliveryReceipt).where(
        DeliveryReceipt.delivery_id == delivery_id, DeliveryReceipt.client == client
    )


def receipts_of(delivery_ids: list[str]) -> Select[DeliveryReceipt]:
    """Every client's receipt of the deliveries, oldest first."""
    return (
        select(DeliveryReceipt)
        .where(DeliveryReceipt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryReceipt.at, DeliveryReceipt.id)
    )


def access_log(permit_id: str) -> Select[DeliveryAccess]:
    return (
        select(DeliveryAccess).where(DeliveryAccess.permit_id == permit_id).order_by(DeliveryAccess.at.desc())
    )


def not_deleted() -> Select[Delivery]:
    return select(Delivery).where(Delivery.deleted_at.is_(None))
