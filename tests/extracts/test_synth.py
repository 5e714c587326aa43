"""hdab synth: a deterministic synthetic NPR and KPR year with valid synthetic identifiers and corrections."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from hdab.core.identifiers import PersonNumberKind, person_number_kind
from hdab.registry import synth
from hdab.registry.provenance import read_provenance


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> synth.SynthResult:
    return synth.generate(tmp_path_factory.mktemp("registry"), 20_000, 2025, 11)


def npr(year: synth.SynthResult, columns: list[str]) -> pa.Table:
    """The NPR table synth wrote, all its parts (one per recorded day) read as one."""
    return pq.read_table([p for p in year.files if "npr-somatikk" in p.parts], columns=columns)


def test_the_same_seed_gives_the_same_files(year: synth.SynthResult, tmp_path: Path) -> None:
    again = synth.generate(tmp_path, 20_000, 2025, 11)
    for first, second in zip(year.files, again.files, strict=True):
        assert first.relative_to(year.files[0].parents[2]) == second.relative_to(tmp_path)
        assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    other = synth.generate(tmp_path / "other", 20_000, 2025, 12)
    assert other.files[0].read_bytes() != year.files[0].read_bytes()


def test_the_year_is_appended_as_parts_by_recorded_day_and_a_second_run_replaces_them(tmp_path: Path) -> None:
    first = synth.generate(tmp_path, 500, 2025, 3)
    for path in first.files:
        day = path.parent.name.removeprefix("recorded_date=")
        recorded = pq.read_table(path, columns=["recorded_at"])["recorded_at"]
        assert {v.date().isoformat() for v in recorded.to_pylist()} == {day}
    again = synth.generate(tmp_path, 300, 2025, 3)
    assert sorted(tmp_path.rglob("*.parquet")) == sorted(again.files)  # nothing of the first run is left
    assert read_provenance(tmp_path) is not None and read_provenance(tmp_path)["patients"] == 300


def test_identifiers_are_valid_synthetic_and_unique_per_person(year: synth.SynthResult) -> None:
    table = npr(year, ["fodselsnummer", "fodselsar", "kjonn"])
    numbers = table["fodselsnummer"].unique().to_pylist()
    kinds = [person_number_kind(n, allow_synthetic=True) for n in numbers]
    assert {PersonNumberKind.FODSELSNUMMER, PersonNumberKind.D_NUMMER} <= set(kinds)
    assert 0.01 < kinds.count(PersonNumberKind.D_NUMMER) / len(kinds) < 0.06
    assert all(int(n[2:4]) > 80 for n in numbers)  # Tenor: month + 80, never a real person's number
    pairs = {(r["fodselsnummer"], r["fodselsar"], r["kjonn"]) for r in table.to_pylist()}
    assert len(pairs) == len(numbers)  # one person, one birth year and sex


def test_volumes_follow_the_seed_figures_per_patient(year: synth.SynthResult) -> None:
    table = npr(year, ["version", "omsorgsniva", "henvisningsperiode"])
    first = table.filter(pc.equal(table["version"], 1))
    outpatient = pc.sum(pc.equal(first["omsorgsniva"], "3")).as_py()
    admissions = pc.sum(pc.equal(first["omsorgsniva"], "1")).as_py()
    referrals = first.num_rows - first["henvisningsperiode"].null_count
    patients = 20_000
    assert outpatient / patients == pytest.approx(14.5 / 2.8, rel=0.08)
    assert admissions / patients == pytest.approx(1.0 / 2.8, rel=0.08)
    assert referrals / patients == pytest.approx(3.5 / 2.8, rel=0.08)


def test_code_frequencies_are_skewed_like_real_ones(year: synth.SynthResult) -> None:
    codes = npr(year, ["hovedtilstand"])["hovedtilstand"].cast("string")
    counts = sorted(pc.value_counts(codes).field("counts").to_pylist(), reverse=True)
    assert sum(counts[:5]) / sum(counts) > 0.3 and counts[0] > 10 * counts[-1]


def test_corrections_are_later_versions_of_the_same_records(year: synth.SynthResult) -> None:
    for dataset in ("npr-somatikk", "kpr-kuhr"):
        table = pq.read_table(
            [p for p in year.files if dataset in p.parts], columns=["record_id", "version", "recorded_at"]
        )
        rows = table.to_pylist()
        first = {r["record_id"]: r["recorded_at"] for r in rows if r["version"] == 1}
        second = [r for r in rows if r["version"] == 2]
        assert 0.01 < len(second) / len(first) < 0.03
        assert all(r["recorded_at"] > first[r["record_id"]] for r in second)
