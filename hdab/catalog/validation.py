"""Which official shapes the running service validates with, and the validation gate on saving."""

from __future__ import annotations

import logging
from pathlib import Path

from rdflib import Graph

from hdab.catalog.rdf.shacl import SHAPE_FILES, VOCABULARY_DIR, ShapesBundle, ValidationResult, shapes_bundle
from hdab.core.errors import FieldError, ProblemError
from hdab.core.settings import Settings

log = logging.getLogger(__name__)


def _complete(root: Path) -> bool:
    return all((root / f).is_file() for f in SHAPE_FILES) and (root / VOCABULARY_DIR).is_dir()


def shapes_root(settings: Settings) -> Path | None:
    """HDAB_SHAPES_DIR when filled; outside production, HDAB_REFERENCE_DIR (when set) as a fallback."""
    assert settings.shapes_dir is not None
    if _complete(settings.shapes_dir):
        return settings.shapes_dir
    fallback = settings.reference_dir
    if not settings.is_production and fallback is not None and _complete(fallback):
        return fallback
    return None


class ShapesNotInstalled(ProblemError):
    def __init__(self) -> None:
        super().__init__(
            "the official SHACL shapes are not installed; run `hdab catalog fetch-shapes`",
            503,
            "shapes-not-installed",
        )


class NonConforming(ProblemError):
    """The RDF breaks the official shapes: 422 listing every violation with focus node and path."""

    def __init__(self, violations: tuple[ValidationResult, ...]) -> None:
        super().__init__(
            f"the metadata breaks {len(violations)} rule(s) of the official DCAT-AP / HealthDCAT-AP shapes",
            422,
            "shacl-violations",
            [FieldError(f"{v.focus_node} {v.path or ''}".strip(), v.message) for v in violations],
        )
        self.violations = violations


def bundle_for(settings: Settings) -> ShapesBundle | None:
    root = shapes_root(settings)
    return shapes_bundle(root) if root is not None else None


def gate(settings: Settings, graph: Graph) -> None:
    """Refuse RDF that breaks the shapes. Without shapes: refuse in production, warn elsewhere."""
    bundle = bundle_for(settings)
    if bundle is None:
        if settings.is_production:
            raise ShapesNotInstalled()
        log.warning("SHACL shapes not installed: saving without the official validation (development only)")
        return
    report = bundle.validate(graph)
    if report.violations:
        raise NonConforming(report.violations)
