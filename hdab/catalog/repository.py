"""Catalogue queries, as select() statements the services and routes execute."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select

from hdab.catalog.models import CatalogDataset, CatalogDatasetVersion, DatasetStatus


def published(modified_since: datetime | None = None) -> Select[CatalogDataset]:
    """Published datasets in their stable harvesting order (by identifier)."""
    query = select(CatalogDataset).where(CatalogDataset.status == DatasetStatus.PUBLISHED)
    if modified_since is not None:
        query = query.where(CatalogDataset.updated_at > modified_since)
    return query.order_by(CatalogDataset.identifier)


def count_published(modified_since: datetime | None = None) -> Select[int]:
    query = (
        select(func.count())
        .select_from(CatalogDataset)
        .where(CatalogDataset.status == DatasetStatus.PUBLISHED)
    )
    if modified_since is not None:
        query = query.where(CatalogDataset.updated_at > modified_since)
    return query


def last_change() -> Select[datetime | None]:
    return select(func.max(CatalogDataset.updated_at))


def by_identifier(identifier: str) -> Select[CatalogDataset]:
    return select(CatalogDataset).where(CatalogDataset.identifier == identifier)


def by_identifiers(identifiers: list[str]) -> Select[CatalogDataset]:
    return select(CatalogDataset).where(CatalogDataset.identifier.in_(identifiers))


def by_iri(iri: str) -> Select[CatalogDataset]:
    return select(CatalogDataset).where(CatalogDataset.iri == iri)


def versions(dataset_id: int) -> Select[CatalogDatasetVersion]:
    return (
        select(CatalogDatasetVersion)
        .where(CatalogDatasetVersion.dataset_id == dataset_id)
        .order_by(CatalogDatasetVersion.version)
    )


def changed_since(modified_since: datetime) -> Select[CatalogDataset]:
    """What an incremental harvest gets: datasets published or withdrawn after ``modified_since``."""
    return (
        select(CatalogDataset)
        .where(CatalogDataset.updated_at > modified_since)
        .order_by(CatalogDataset.identifier)
    )


def count_changed_since(modified_since: datetime) -> Select[int]:
    return select(func.count()).select_from(CatalogDataset).where(CatalogDataset.updated_at > modified_since)
