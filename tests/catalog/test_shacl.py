"""Every published record conforms to the official DCAT-AP 3.0.1 + HealthDCAT-AP R8 NON_PUBLIC shapes."""

from __future__ import annotations

import pytest
from rdflib import Graph

from hdab.catalog.rdf.profiles import write_dataset
from hdab.catalog.rdf.shacl import ShapesBundle, shapes_bundle
from hdab.catalog.seed import seed_records
from tests.support import backends


@pytest.fixture(scope="module")
def bundle() -> ShapesBundle:
    return shapes_bundle(backends.reference())


@pytest.mark.parametrize("record", seed_records("https://hdab.example.no"), ids=lambda r: r.identifier)
def test_seed_dataset_conforms(bundle: ShapesBundle, record: object) -> None:
    report = bundle.validate(write_dataset(record))  # type: ignore[arg-type]
    assert report.violations == (), "\n".join(map(str, report.violations))


def test_official_example_conforms_and_old_draft_does_not(bundle: ShapesBundle) -> None:
    example_path, draft_path = (
        "dcat/examples/healthdcat-ap-r8_example-healthdcat-dataset.ttl",
        "dcat/examples/ckanext-dcat_dataset_health.ttl",
    )
    root = backends.reference(example_path, draft_path)
    example = Graph().parse(root / example_path)
    assert bundle.validate(example).conforms
    draft = Graph().parse(root / draft_path)
    assert len(bundle.validate(draft).violations) == 45  # as the reference README records


def test_a_broken_record_is_reported_with_focus_node_and_path(bundle: ShapesBundle) -> None:
    import dataclasses

    record = dataclasses.replace(seed_records("https://hdab.example.no")[0], themes=())
    report = bundle.validate(write_dataset(record))
    assert not report.conforms
    assert any(
        v.focus_node == record.iri and v.path == "http://www.w3.org/ns/dcat#theme" for v in report.violations
    )
