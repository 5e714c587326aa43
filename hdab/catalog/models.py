"""Catalogue tables: the current state of each dataset and every version of its record."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hdab.core.db import Base, UTCDateTime


class DatasetStatus(enum.StrEnum):
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class ChangeKind(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    WITHDRAWN = "withdrawn"


class CatalogDataset(Base):
    """A dataset of the catalogue, with its current record (the latest version's)."""

    __tablename__ = "catalog_datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(128), unique=True)
    iri: Mapped[str] = mapped_column(String(2000), unique=True)
    status: Mapped[DatasetStatus] = mapped_column(
        Enum(DatasetStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    version: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON())
    content_hash: Mapped[str] = mapped_column(String(64))
    # N-Triples of the published record, made once per version: serving the catalogue then
    # needs no graph building per request.
    ntriples: Mapped[str] = mapped_column(Text())
    # The same as a Turtle fragment (no standard prefixes): /catalog in Turtle is these, joined.
    turtle: Mapped[str] = mapped_column(Text())
    issued: Mapped[date] = mapped_column(Date())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CatalogDatasetVersion(Base):
    """One version of a dataset's record: who changed it, when, why."""

    __tablename__ = "catalog_dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_datasets.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[ChangeKind] = mapped_column(
        Enum(ChangeKind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    record: Mapped[dict[str, Any]] = mapped_column(JSON())
    content_hash: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(255))
    note: Mapped[str] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UrlCheck(Base):
    """The last answer of a URL the catalogue publishes (access and download URLs), for the quality score."""

    __tablename__ = "catalog_url_checks"

    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    status_code: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(200))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SearchDocumentRow(Base):
    """The embedded search index: a dataset's analysed terms by field, and what a hit shows.

    SQLite searches it through the FTS5 table ``search_fts``, PostgreSQL through a GIN index on
    its weighted tsvector (both made by the migration for their database only).
    """

    __tablename__ = "search_documents"

    identifier: Mapped[str] = mapped_column(String(128), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON())
    title_terms: Mapped[str] = mapped_column(Text())
    keywords_terms: Mapped[str] = mapped_column(Text())
    codes_terms: Mapped[str] = mapped_column(Text())
    variables_terms: Mapped[str] = mapped_column(Text())
    description_terms: Mapped[str] = mapped_column(Text())


class SearchIndexState(Base):
    """What each backend has indexed: a dataset's version, so stale or missed updates are found."""

    __tablename__ = "search_index_state"

    backend: Mapped[str] = mapped_column(String(20), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SearchGeneration(Base):
    """A counter bumped by every index change, so each process knows when its cache is stale."""

    __tablename__ = "search_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
