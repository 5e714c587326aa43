"""Validation with the official DCAT-AP 3.0.1 and HealthDCAT-AP Release 8 (NON_PUBLIC) shapes.

The shape and vocabulary files are read from a folder laid out like ``../shared/reference`` (tests
use that folder through ``HDAB_REFERENCE_DIR``; the service uses ``HDAB_SHAPES_DIR``, filled by
``hdab catalog fetch-shapes``). How they are assembled follows the official validator's
configuration and the notes in ``reference/dcat/README.md``:

- every shape file goes into one shapes graph (HealthDCAT-AP adds constraints to DCAT-AP's node
  shapes; its vocabulary shapes replace DCAT-AP's), with ``owl:imports`` removed;
- the one path-less property shape of ``non-public-shapes.ttl`` becomes a node shape;
- the controlled vocabularies used by the data are merged into the data graph, because membership
  is checked as ``value skos:inScheme scheme`` (each scheme gets a ``dct:title`` from its label);
- only top-level results count, and results about vocabulary resources are not ours to fix.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SH, SKOS
from rdflib.term import Node

SHAPE_FILES = (
    "dcat/dcat-ap-3.0.1/html-shacl/shapes.ttl",
    "dcat/dcat-ap-3.0.1/html-shacl/range.ttl",
    "dcat/dcat-ap-3.0.1/html-shacl/shapes_recommended.ttl",
    "dcat/dcat-ap-3.0.1/html-shacl/deprecateduris.ttl",
    "dcat/healthdcat-ap-r8/validator/shapes/graph-guard.ttl",
    "dcat/healthdcat-ap-r8/validator/ranges/range.ttl",
    "dcat/healthdcat-ap-r8/validator/shapes/non-public-shapes.ttl",
    "dcat/healthdcat-ap-r8/validator/controlled-vocabularies/mdr-vocabularies.shape.ttl",
    "dcat/healthdcat-ap-r8/validator/recommended/non-public-shapes_recommended.ttl",
)
VOCABULARY_DIR = "dcat/nal"
# DCAT-AP-NO 2 (data.norge.no): its shapes, and the ontology declarations its validator loads beside them.
NO_SHAPE_FILES = ("dcat-ap-no/DCAT-AP-NO-shacl_shapes_2.00.ttl",)
NO_ONTOLOGIES = "dcat-ap-no/ontologies.ttl"


class ShapesMissing(FileNotFoundError):
    """The shapes folder lacks a file the validation needs."""


@dataclass(frozen=True)
class ValidationResult:
    severity: str  # "Violation", "Warning" or "Info"
    focus_node: str
    path: str | None
    message: str
    value: str | None = None

    def __str__(self) -> str:
        where = f"{self.focus_node}" + (f" {self.path}" if self.path else "")
        return f"{self.severity}: {where}: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    violations: tuple[ValidationResult, ...]
    warnings: tuple[ValidationResult, ...]

    @property
    def conforms(self) -> bool:
        return not self.violations


def _fix_pathless_property_shapes(shapes: Graph) -> None:
    for parent, prop in list(shapes.subject_objects(SH.property)):
        if (prop, SH.path, None) in shapes:
            continue
        node_shape = BNode()
        shapes.add((node_shape, RDF.type, SH.NodeShape))
        for target in shapes.objects(parent, SH.targetClass):
            shapes.add((node_shape, SH.targetClass, target))
        for predicate, obj in list(shapes.predicate_objects(prop)):
            shapes.add((node_shape, predicate, obj))
        shapes.remove((parent, SH.property, prop))


class ShapesBundle:
    """Shapes and vocabularies loaded once per process (loading costs seconds, validating milliseconds)."""

    def __init__(
        self, root: Path, files: tuple[str, ...] = SHAPE_FILES, ontologies: str | None = None
    ) -> None:
        self.root = root
        self.shapes = Graph()
        self.ontologies: Graph | None = None
        if ontologies is not None:
            if not (root / ontologies).is_file():
                raise ShapesMissing(f"ontology file {ontologies} is missing under {root}")
            self.ontologies = Graph().parse(root / ontologies)
        for relative in files:
            path = root / relative
            if not path.is_file():
                raise ShapesMissing(f"shape file {relative} is missing under {root}")
            self.shapes.parse(path)
        self.shapes.remove((None, OWL.imports, None))
        _fix_pathless_property_shapes(self.shapes)
        vocab_dir = root / VOCABULARY_DIR
        if not vocab_dir.is_dir():
            raise ShapesMissing(f"vocabulary folder {VOCABULARY_DIR} is missing under {root}")
        self.vocabularies = Graph()
        for path in sorted(vocab_dir.iterdir()):
            if path.suffix in (".rdf", ".ttl"):
                self.vocabularies.parse(path, format="xml" if path.suffix == ".rdf" else "turtle")
        for scheme in set(self.vocabularies.subjects(RDF.type, SKOS.ConceptScheme)):
            if (scheme, DCTERMS.title, None) not in self.vocabularies:
                for label in self.vocabularies.objects(scheme, SKOS.prefLabel):
                    self.vocabularies.add((scheme, DCTERMS.title, label))
        self.vocabulary_terms = frozenset(s for s in self.vocabularies.subjects() if isinstance(s, URIRef))
        self._lock = threading.Lock()

    def concept_triples(self, iris: Iterable[URIRef]) -> Graph:
        """The vocabulary triples about the terms the data uses (enough for the membership checks)."""
        extract = Graph()
        schemes: set[URIRef] = set()
        for iri in iris:
            if iri in self.vocabulary_terms:
                for triple in self.vocabularies.triples((iri, None, None)):
                    extract.add(triple)
                schemes.update(
                    s for s in self.vocabularies.objects(iri, SKOS.inScheme) if isinstance(s, URIRef)
                )
        # The restrictions also check that the scheme is a skos:ConceptScheme.
        for scheme in schemes:
            for triple in self.vocabularies.triples((scheme, None, None)):
                extract.add(triple)
        return extract

    def validate(self, data: Graph) -> ValidationReport:
        used = {o for o in data.objects() if isinstance(o, URIRef)}
        merged = Graph()
        for triple in data:
            merged.add(triple)
        for triple in self.concept_triples(used):
            merged.add(triple)
        with self._lock:  # pySHACL is not documented as thread-safe with a shared shapes graph
            _conforms, report, _text = pyshacl_validate(
                merged,
                shacl_graph=self.shapes,
                ont_graph=self.ontologies,
                # merged is our own copy: pySHACL need not copy it again (a tenth of the time)
                inplace=True,
                inference="none",
                advanced=True,
                allow_warnings=True,
                abort_on_first=False,
            )
        assert isinstance(report, Graph)
        violations: list[ValidationResult] = []
        warnings: list[ValidationResult] = []
        for report_node in report.subjects(RDF.type, SH.ValidationReport):
            for result in report.objects(report_node, SH.result):
                focus = report.value(result, SH.focusNode)
                if (
                    isinstance(focus, URIRef)
                    and focus in self.vocabulary_terms
                    and focus not in _subjects(data)
                ):
                    continue
                item = _result(report, result)
                if item.severity == "Violation":
                    violations.append(item)
                else:
                    warnings.append(item)
        key = lambda r: (r.focus_node, r.path or "", r.message)  # noqa: E731
        return ValidationReport(tuple(sorted(violations, key=key)), tuple(sorted(warnings, key=key)))


def _subjects(graph: Graph) -> set[object]:
    return set(graph.subjects())


def _result(report: Graph, result: Node) -> ValidationResult:
    severity = report.value(result, SH.resultSeverity)
    path = report.value(result, SH.resultPath)
    message = report.value(result, SH.resultMessage)
    value = report.value(result, SH.value)
    focus = report.value(result, SH.focusNode)
    return ValidationResult(
        severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
        focus_node=focus.n3() if isinstance(focus, BNode) else str(focus),
        path=str(path) if isinstance(path, URIRef) else (None if path is None else "(complex path)"),
        message=str(message) if isinstance(message, Literal) else "constraint not met",
        value=str(value) if value is not None else None,
    )


_bundles: dict[tuple[Path, str], ShapesBundle] = {}
_bundles_lock = threading.Lock()


def shapes_bundle(root: Path) -> ShapesBundle:
    """The bundle for ``root``, loaded on first use."""
    resolved = root.resolve()
    with _bundles_lock:
        if (resolved, "eu") not in _bundles:
            _bundles[(resolved, "eu")] = ShapesBundle(resolved)
        return _bundles[(resolved, "eu")]


def norwegian_shapes_bundle(root: Path) -> ShapesBundle:
    """DCAT-AP-NO 2's shapes with its ontologies (and the EU vocabularies) for ``root``, loaded once."""
    resolved = root.resolve()
    with _bundles_lock:
        if (resolved, "no") not in _bundles:
            _bundles[(resolved, "no")] = ShapesBundle(resolved, NO_SHAPE_FILES, NO_ONTOLOGIES)
        return _bundles[(resolved, "no")]
