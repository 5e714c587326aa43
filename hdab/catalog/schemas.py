"""What the catalogue's edges give out: response models and the presenters that fill them.

The JSON API answers these models; the pages take the schema.org description from here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from hdab.catalog.domain import DatasetRecord
from hdab.catalog.models import CatalogDataset, CatalogDatasetVersion
from hdab.catalog.service import UpsertResult

# --- datasets --------------------------------------------------------------------------------------


class DatasetSummary(BaseModel):
    identifier: str
    iri: str
    status: str
    version: int
    title: dict[str, str]
    updated_at: datetime


class DatasetPage(BaseModel):
    items: list[DatasetSummary]
    page: int
    page_size: int
    total: int


class DatasetOut(BaseModel):
    """A dataset's current record as JSON, with its status and version."""

    status: str
    version: int
    record: dict[str, Any]


class WithdrawnOut(BaseModel):
    status: str
    version: int


class VersionOut(BaseModel):
    version: int
    change: str
    author: str
    note: str
    created_at: datetime


def dataset_summary(row: CatalogDataset) -> DatasetSummary:
    title = row.record.get("title", {})
    return DatasetSummary(
        identifier=row.identifier,
        iri=row.iri,
        status=row.status.value,
        version=row.version,
        title={k: v for k, v in title.items() if v},
        updated_at=row.updated_at,
    )


def dataset_view(row: CatalogDataset) -> dict[str, Any]:
    return {"status": row.status.value, "version": row.version, "record": row.record}


def version_view(version: CatalogDatasetVersion) -> VersionOut:
    return VersionOut(
        version=version.version,
        change=version.change.value,
        author=version.author,
        note=version.note,
        created_at=version.created_at,
    )


# --- imports ---------------------------------------------------------------------------------------


class ImportedDataset(BaseModel):
    identifier: str
    outcome: str
    version: int


class ImportResult(BaseModel):
    datasets: list[ImportedDataset]


def import_result(results: Iterable[UpsertResult]) -> ImportResult:
    return ImportResult(
        datasets=[
            ImportedDataset(identifier=r.identifier, outcome=r.outcome.value, version=r.version)
            for r in results
        ]
    )


# --- quality ---------------------------------------------------------------------------------------


class IndicatorOut(BaseModel):
    name: str
    points: float
    max_points: int
    met: bool


class DimensionOut(BaseModel):
    name: str
    points: float
    max_points: int
    indicators: list[IndicatorOut]


class QualityOut(BaseModel):
    """The data.europa.eu MQA score of a dataset, with the catalogue's average."""

    points: float
    max_points: int
    rating: str
    dimensions: list[DimensionOut]
    catalogue_average: float | None
    urls_checked: bool


# --- search ----------------------------------------------------------------------------------------


class FacetValueOut(BaseModel):
    value: str
    label: str
    count: int


class SearchHitOut(BaseModel):
    identifier: str
    title: str
    description: str
    highlight: dict[str, str]
    matched_variables: list[str]


class SearchOut(BaseModel):
    total: int
    items: list[SearchHitOut]
    facets: dict[str, list[FacetValueOut]]
    took_ms: float


# --- pages -----------------------------------------------------------------------------------------


def schema_org(record: DatasetRecord, lang: str) -> dict[str, Any]:
    """schema.org Dataset JSON-LD for search engines."""
    data: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": record.iri,
        "identifier": record.identifier,
        "name": record.title.get(lang),
        "description": record.description.get(lang),
        "url": record.landing_page or record.iri,
        "keywords": [k.value for k in record.keywords if k.lang in (lang, "en")],
        "isAccessibleForFree": False,
        "conditionsOfAccess": "Data permit or statistics request under the EHDS (Regulation (EU) 2025/327)",
        "publisher": {
            "@type": "Organization",
            "name": record.publisher.name.get(lang),
            "url": record.publisher.iri,
        },
        "inLanguage": [lang],
        "variableMeasured": [c.name for c in record.columns],
    }
    if record.temporal and record.temporal[0].start:
        period = record.temporal[0]
        data["temporalCoverage"] = f"{period.start}/{period.end or '..'}"
    if record.spatial:
        data["spatialCoverage"] = {"@type": "Place", "name": "Norway"}
    if record.modified:
        data["dateModified"] = record.modified.isoformat()
    return data
