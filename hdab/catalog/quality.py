"""Metadata quality: the data.europa.eu Metadata Quality Assessment (MQA) score of a record.

405 points in five dimensions (DOMAIN.md section 6). Distribution-level indicators earn their
points in proportion to the distributions that meet them, as the MQA does. Whether a URL responds
comes from the scheduled URL check (``catalog.check_urls``), never from a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from hdab.catalog.domain import DatasetRecord, Distribution
from hdab.catalog.rdf.namespaces import EU_AUTHORITY, IANA_MEDIA_TYPES, code_of

# EU file types that are open formats and machine-readable (the MQA's lists, for the types we use).
NON_PROPRIETARY = {
    "CSV",
    "PARQUET",
    "JSON",
    "XML",
    "RDF_TURTLE",
    "RDF_XML",
    "JSON_LD",
    "RDF_N_TRIPLES",
    "TSV",
}
MACHINE_READABLE = NON_PROPRIETARY | {"XLSX", "XLS"}
KNOWN_LICENCE_PREFIX = f"{EU_AUTHORITY}licence/"


@dataclass(frozen=True)
class Indicator:
    name: str
    points: float
    max_points: int


@dataclass(frozen=True)
class Dimension:
    name: str
    indicators: tuple[Indicator, ...]

    @property
    def points(self) -> float:
        return sum(i.points for i in self.indicators)

    @property
    def max_points(self) -> int:
        return sum(i.max_points for i in self.indicators)


@dataclass(frozen=True)
class QualityReport:
    dimensions: tuple[Dimension, ...]

    @property
    def points(self) -> float:
        return round(sum(d.points for d in self.dimensions), 1)

    @property
    def max_points(self) -> int:
        return sum(d.max_points for d in self.dimensions)

    @property
    def rating(self) -> str:
        return rating(self.points)


def rating(points: float) -> str:
    if points > 350:
        return "excellent"
    if points > 220:
        return "good"
    if points > 120:
        return "sufficient"
    return "bad"


def _share(distributions: tuple[Distribution, ...], test: Callable[[Distribution], bool]) -> float:
    if not distributions:
        return 0.0
    return sum(1 for d in distributions if test(d)) / len(distributions)


def _indicator(name: str, max_points: int, share: float) -> Indicator:
    return Indicator(name, round(max_points * share, 1), max_points)


def score(
    record: DatasetRecord, url_ok: Mapping[str, bool], *, dcat_ap_compliant: bool | None
) -> QualityReport:
    """The MQA score of ``record``; ``url_ok``: the URL checks; ``dcat_ap_compliant``: the SHACL verdict."""
    dists = record.distributions
    has = float
    from_vocabulary = lambda d: bool(  # noqa: E731
        (d.format and d.format.startswith(EU_AUTHORITY))
        or (d.media_type and d.media_type.startswith(IANA_MEDIA_TYPES))
    )
    findability = Dimension(
        "findability",
        (
            _indicator("keyword", 30, has(bool(record.keywords))),
            _indicator("theme", 30, has(bool(record.themes))),
            _indicator("spatial", 20, has(bool(record.spatial))),
            _indicator("temporal", 20, has(bool(record.temporal))),
        ),
    )
    accessibility = Dimension(
        "accessibility",
        (
            _indicator("access_url_responds", 50, _share(dists, lambda d: url_ok.get(d.access_url, False))),
            _indicator("download_url", 20, _share(dists, lambda d: d.download_url is not None)),
            _indicator(
                "download_url_responds",
                30,
                _share(dists, lambda d: d.download_url is not None and url_ok.get(d.download_url, False)),
            ),
        ),
    )
    interoperability = Dimension(
        "interoperability",
        (
            _indicator("format", 20, _share(dists, lambda d: d.format is not None)),
            _indicator("media_type", 10, _share(dists, lambda d: d.media_type is not None)),
            _indicator("format_media_type_from_vocabulary", 10, _share(dists, from_vocabulary)),
            _indicator(
                "non_proprietary",
                20,
                _share(dists, lambda d: bool(d.format) and code_of(d.format or "") in NON_PROPRIETARY),
            ),
            _indicator(
                "machine_readable",
                20,
                _share(dists, lambda d: bool(d.format) and code_of(d.format or "") in MACHINE_READABLE),
            ),
            _indicator("dcat_ap_compliance", 30, has(bool(dcat_ap_compliant))),
        ),
    )
    reusability = Dimension(
        "reusability",
        (
            _indicator("licence", 20, _share(dists, lambda d: d.licence is not None)),
            _indicator(
                "known_licence",
                10,
                _share(dists, lambda d: (d.licence or "").startswith(KNOWN_LICENCE_PREFIX)),
            ),
            _indicator("access_rights", 10, has(bool(record.access_rights))),
            _indicator(
                "access_rights_vocabulary",
                5,
                has(record.access_rights.startswith(f"{EU_AUTHORITY}access-right/")),
            ),
            _indicator("contact_point", 20, has(bool(record.contact_points))),
            _indicator("publisher", 10, has(bool(record.publisher))),
        ),
    )
    contextuality = Dimension(
        "contextuality",
        (
            _indicator("rights", 5, _share(dists, lambda d: d.rights is not None)),
            _indicator("byte_size", 5, _share(dists, lambda d: d.byte_size is not None)),
            _indicator("issued", 5, has(record.issued is not None)),
            _indicator("modified", 5, has(record.modified is not None)),
        ),
    )
    return QualityReport((findability, accessibility, interoperability, reusability, contextuality))


def probe(client: httpx.Client, url: str) -> tuple[int | None, str | None]:
    """Whether ``url`` responds, as the MQA accessibility check asks: (status, error class name).

    ``HEAD`` first; when it fails (an error status: many servers answer HEAD with 403, 404, 405 or
    501 where GET works, or no answer at all) the same URL by ``GET``, reading the headers only.
    """
    try:
        head = client.head(url)
        if head.status_code < 400:
            return head.status_code, None
    except httpx.HTTPError:
        pass
    try:
        with client.stream("GET", url) as response:
            return response.status_code, None
    except httpx.HTTPError as exc:
        return None, type(exc).__name__


def urls_of(record: DatasetRecord) -> set[str]:
    urls = {d.access_url for d in record.distributions}
    urls |= {d.download_url for d in record.distributions if d.download_url}
    return urls


def report_json(report: QualityReport) -> dict[str, object]:
    return {
        "points": report.points,
        "max_points": report.max_points,
        "rating": report.rating,
        "dimensions": [
            {
                "name": d.name,
                "points": round(d.points, 1),
                "max_points": d.max_points,
                "indicators": [
                    {
                        "name": i.name,
                        "points": i.points,
                        "max_points": i.max_points,
                        "met": i.points == i.max_points,
                    }
                    for i in d.indicators
                ],
            }
            for d in report.dimensions
        ],
    }
