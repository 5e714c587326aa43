"""The pipeline over a synthetic year: minimised, opt-outs out, per-permit pseudonyms, k checked."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from hdab.core.files import sha256_file
from hdab.core.identifiers import is_person_number
from hdab.extracts.pipeline import plan as planning
from hdab.extracts.pipeline import steps
from hdab.extracts.pipeline.run import Keys, Outcome, run_plan
from hdab.registry import synth
from tests.extracts.permits import APPROVED, permit_version

OPTOUT_KEY = b"o" * 32
MASTER = "test-master-key-test-master-key-0123"
HIP = {
    "dataset": "npr-somatikk",
    "variables": ["hovedtilstand", "kjonn", "fodselsar", "innskrivningstidspunkt", "kommunenummer"],
    "period": {"start": "2025-03-01", "end": "2025-10-31"},
    "cohort": [{"variable": "hovedtilstand", "prefixes": ["S72", "I21"]}],
    "pseudonymised": True,
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    synth.generate(root, 6_000, 2025, 5)
    return root


def source(registry: Path, dataset: str) -> list[dict[str, Any]]:
    return pq.read_table(registry / dataset, partitioning=None).to_pylist()


def run(
    registry: Path,
    spe: Path,
    datasets: list[dict[str, Any]],
    *,
    permit_id: str = "NO-HDAB-2026-AAAA",
    opted_out: frozenset[str] = frozenset(),
    delivery_id: str = "d1",
    min_k: int = 5,
    approved_at: datetime = APPROVED,
) -> Outcome:
    plan = planning.plan_for_permit([permit_version(permit_id, datasets, approved_at=approved_at)], min_k)
    return run_plan(
        plan,
        registry=registry,
        spe_root=spe,
        delivery_id=delivery_id,
        keys=Keys(steps.permit_key(MASTER, permit_id), OPTOUT_KEY),
        opted_out=lambda _at: opted_out,
        optout_receipt=lambda at: {"events": len(opted_out), "as_of": at.isoformat()},
        dictionary={("npr-somatikk", "kjonn"): ("Sex", "string")},
        principals=["kari@idp"],
    )


def expected_rows(registry: Path, as_of: datetime) -> dict[int, dict[str, Any]]:
    """An independent reading: latest version known at as_of, in the period, in the cohort."""
    latest: dict[int, dict[str, Any]] = {}
    for row in source(registry, "npr-somatikk"):
        if (
            row["recorded_at"] <= as_of
            and row["version"] >= latest.get(row["record_id"], {"version": 0})["version"]
        ):
            latest[row["record_id"]] = row
    oslo = ZoneInfo("Europe/Oslo")  # a permit's period is in Norwegian days
    start, end = datetime(2025, 3, 1, tzinfo=oslo), datetime(2025, 11, 1, tzinfo=oslo)
    return {
        rid: row
        for rid, row in latest.items()
        if start <= row["innskrivningstidspunkt"] < end
        and str(row["hovedtilstand"]).startswith(("S72", "I21"))
    }


def test_minimised_rows_and_columns_match_an_independent_reading(registry: Path, tmp_path: Path) -> None:
    outcome = run(registry, tmp_path, [HIP])
    assert outcome.delivery is not None
    table = pq.read_table(outcome.delivery / "npr-somatikk.parquet")
    assert table.column_names == ["pseudonym", *HIP["variables"]]
    expected = expected_rows(registry, APPROVED)
    assert table.num_rows == len(expected) > 50
    assert Counter(table["hovedtilstand"].cast("string").to_pylist()) == Counter(
        str(r["hovedtilstand"]) for r in expected.values()
    )


def test_opted_out_persons_stay_out_and_the_receipt_counts_them(registry: Path, tmp_path: Path) -> None:
    expected = expected_rows(registry, APPROVED)
    persons = sorted({r["fodselsnummer"] for r in expected.values()})
    out = frozenset(steps.hmac_python(OPTOUT_KEY, p) for p in persons[:10])
    outcome = run(registry, tmp_path, [HIP], opted_out=out)
    assert outcome.delivery is not None
    receipt = outcome.manifest["optout_receipt"][0]
    assert receipt["persons_removed"] == 10
    removed_rows = sum(1 for r in expected.values() if r["fodselsnummer"] in persons[:10])
    assert receipt["rows_removed"] == removed_rows
    key = steps.permit_key(MASTER, "NO-HDAB-2026-AAAA")
    delivered = set(pq.read_table(outcome.delivery / "npr-somatikk.parquet")["pseudonym"].to_pylist())
    assert not {steps.hmac_python(key, p)[:32] for p in persons[:10]} & delivered
    assert {steps.hmac_python(key, p)[:32] for p in persons[10:]} <= delivered


def test_one_person_one_pseudonym_in_npr_and_kpr_and_none_shared_across_permits(
    registry: Path, tmp_path: Path
) -> None:
    kpr = {"dataset": "kpr-kuhr", "variables": ["hoveddiagnose", "kjonn"], "pseudonymised": True}
    npr = {**HIP, "cohort": [], "period": None}
    first = run(registry, tmp_path, [npr, kpr], permit_id="NO-HDAB-2026-FIRST")
    second = run(registry, tmp_path, [npr, kpr], permit_id="NO-HDAB-2026-SECOND")
    assert first.delivery and second.delivery
    a_npr = set(pq.read_table(first.delivery / "npr-somatikk.parquet")["pseudonym"].to_pylist())
    a_kpr = set(pq.read_table(first.delivery / "kpr-kuhr.parquet")["pseudonym"].to_pylist())
    b_npr = set(pq.read_table(second.delivery / "npr-somatikk.parquet")["pseudonym"].to_pylist())
    assert len(a_npr & a_kpr) > 1000  # linkage within the permit
    assert not a_npr & b_npr  # no linkage across permits
    persons = {r["fodselsnummer"] for r in source(registry, "npr-somatikk")}
    assert len(a_npr) == len(persons)


def test_an_anonymised_delivery_is_k_anonymous_by_an_independent_count(
    registry: Path, tmp_path: Path
) -> None:
    anonymised = {
        "dataset": "npr-somatikk",
        "variables": ["hovedtilstand", "kjonn", "kommunenummer"],
        "generalisations": ["municipality_to_county"],
        "quasi_identifiers": ["kjonn", "kommunenummer"],
    }
    outcome = run(registry, tmp_path, [anonymised], min_k=5)
    assert outcome.delivery is not None and outcome.held is None
    table = pq.read_table(outcome.delivery / "npr-somatikk.parquet")
    assert "pseudonym" not in table.column_names
    groups = Counter(
        zip(
            *(table[c].cast("string").to_pylist() for c in ("kjonn", "kommunenummer")),
            strict=True,
        )
    )
    assert min(groups.values()) >= 5
    assert all(len(k[1]) == 2 for k in groups)  # municipality generalised to county
    # k counts persons (the catalogue-free plan here has no sensitive variable); rows are at least as many
    assert 5 <= outcome.manifest["disclosure"][0]["k"] <= min(groups.values())


def test_a_risk_the_step_cannot_resolve_holds_the_job_and_delivers_nothing(
    registry: Path, tmp_path: Path
) -> None:
    risky = {
        "dataset": "npr-somatikk",
        "variables": ["hovedtilstand", "fodselsar", "kommunenummer", "innskrivningstidspunkt"],
        "quasi_identifiers": ["fodselsar", "kommunenummer", "innskrivningstidspunkt"],
    }
    outcome = run(registry, tmp_path, [risky], min_k=5)
    assert outcome.delivery is None and outcome.held and "would suppress" in outcome.held
    assert not list((tmp_path / "NO-HDAB-2026-AAAA").iterdir())


def test_the_same_plan_gives_byte_identical_files_also_after_later_corrections(
    registry: Path, tmp_path: Path
) -> None:
    first = run(registry, tmp_path / "a", [HIP])
    # a correction arrives in the sources after the as-of time: the reading as of then is unchanged
    late = pq.read_table(registry / "npr-somatikk", partitioning=None).slice(0, 50)
    late = late.set_column(late.schema.get_field_index("version"), "version", pc.add(late["version"], 5))
    late = late.set_column(
        late.schema.get_field_index("recorded_at"),
        "recorded_at",
        pc.add(late["recorded_at"], pc.cast(timedelta(days=3650), "duration[us]")),
    )
    pq.write_table(late, registry / "npr-somatikk" / "corrections-later.parquet")
    try:
        second = run(registry, tmp_path / "b", [HIP])
    finally:
        (registry / "npr-somatikk" / "corrections-later.parquet").unlink()
    assert first.delivery and second.delivery
    digests = [
        {f["name"]: f["sha256"] for f in o.manifest["files"] if f["name"].endswith(".parquet")}
        for o in (first, second)
    ]
    assert digests[0] == digests[1]
    assert sha256_file(first.delivery / "npr-somatikk.parquet") == digests[0]["npr-somatikk.parquet"]


def test_a_run_leaves_no_work_folder_beside_the_room(registry: Path, tmp_path: Path) -> None:
    """Without a work root, the run's work folder is ``<spe_root>-work``: it goes with the run."""
    outcome = run(registry, tmp_path / "spe", [HIP])
    again = run(registry, tmp_path / "spe", [HIP])  # delivered already
    assert outcome.delivery is not None and again.delivery == outcome.delivery
    assert [p.name for p in tmp_path.iterdir()] == ["spe"]


def test_the_delivery_has_manifest_dictionary_and_principals_and_no_identifier(
    registry: Path, tmp_path: Path
) -> None:
    outcome = run(registry, tmp_path, [HIP])
    assert outcome.delivery is not None
    names = sorted(p.name for p in outcome.delivery.iterdir())
    assert names == ["datadictionary.csvw.json", "manifest.json", "npr-somatikk.parquet", "principals.json"]
    manifest = json.loads((outcome.delivery / "manifest.json").read_text())
    assert manifest["permit_id"] == "NO-HDAB-2026-AAAA" and manifest["permit_version"] == 1
    assert {f["name"] for f in manifest["files"]} == set(names) - {"manifest.json"}
    dictionary = json.loads((outcome.delivery / "datadictionary.csvw.json").read_text())
    assert {"name": "kjonn", "titles": "Sex", "datatype": "string"} in dictionary["tables"][0]["tableSchema"][
        "columns"
    ]
    for path in outcome.delivery.iterdir():
        assert b"fodselsnummer" not in path.read_bytes(), path.name
    values = pq.read_table(outcome.delivery / "npr-somatikk.parquet").to_pylist()
    assert not any(is_person_number(str(v)) for row in values for v in row.values())
    assert not [p for p in outcome.delivery.parent.iterdir() if p.name.startswith(".")]
    again = run(registry, tmp_path, [HIP])  # delivered already: exactly once, the same delivery
    assert again.delivery == outcome.delivery and again.manifest == manifest


def test_duckdb_gets_a_share_of_the_steps_memory_limit_and_the_rest_is_left_for_what_it_does_not_count() -> (
    None
):
    from hdab.extracts.pipeline.run import DUCKDB_SHARE, duckdb_memory_limit

    assert duckdb_memory_limit("1.5GB") == f"{int(1.5e9 * DUCKDB_SHARE) // 2**20}MiB"
    assert duckdb_memory_limit("2 GiB") == f"{int(2 * 2**30 * DUCKDB_SHARE) // 2**20}MiB"
    assert 0.5 <= DUCKDB_SHARE < 1
    with pytest.raises(ValueError, match="not a memory size"):
        duckdb_memory_limit("lots")
