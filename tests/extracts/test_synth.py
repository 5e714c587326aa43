"""hdab synth: a deterministic synthetic NPR and KPR year with valid synthetic identifiers and corrections."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from hdab.core.identifiers import PersonNumberKind, person_number_kind
from hdab.registry import synth


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> synth.SynthResult:
    return synth.generate(tmp_path_factory.mktemp("registry"), 20_000, 2025, 11)


def test_the_same_seed_gives_the_same_files(year: synth.SynthResult, tmp_path: Path) -> None:
    again = synth.generate(tmp_path, 20_000, 2025, 11)
    for first, second in zip(year.files, again.files, strict=True):
        assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    other = synth.generate(tmp_path / "other", 20_000, 2025, 12)
    assert other.files[0].read_bytes() != year.files[0].read_bytes()


def test_identifiers_are_valid_synthetic_and_unique_per_person(year: synth.SynthResult) -> None:
    table = pq.read_table(year.files[0], columns=["fodselsnummer", "fodselsar", "kjonn"])
    numbers = table["fodselsnummer"].unique().to_pylist()
    kinds = [person_number_kind(n, allow_synthetic=True) for n in numbers]
    assert {PersonNumberKind.FODSELSNUMMER, PersonNumberKind.D_NUMMER} <= set(kinds)
    assert 0.01 < kinds.count(PersonNumberKind.D_NUMMER) / len(kinds) < 0.06
    assert all(int(n[2:4]) > 80 for n in numbers)  # Tenor: month + 80, never a real person's number
    pairs = {(r["fodselsnummer"], r["fodselsar"], r["kjonn"]) for r in table.to_pylist()}
    assert len(pairs) == len(numbers)  # one person, one birth year and sex


def test_volumes_follow_the_seed_figures_per_patient(year: synth.SynthResult) -> None:
    npr = pq.read_table(year.files[0], columns=["version", "omsorgsniva", "henvisningsperiode"])
    first = npr.filter(pc.equal(npr["version"], 1))
    outpatient = pc.sum(pc.equal(first["omsorgsniva"], "3")).as_py()
    admissions = pc.sum(pc.equal(first["omsorgsniva"], "1")).as_py()
    referrals = first.num_rows - first["henvisningsperiode"].null_count
    patients = 20_000
    assert outpatient / patients == pytest.approx(14.5 / 2.8, rel=0.08)
    assert admissions / patients == pytest.approx(1.0 / 2.8, rel=0.08)
    assert referrals / patients == pytest.approx(3.5 / 2.8, rel=0.08)


def test_code_frequencies_are_skewed_like_real_ones(year: synth.SynthResult) -> None:
    codes = pq.read_table(year.files[0], columns=["hovedtilstand"])["hovedtilstand"].cast("string")
    counts = sorted(pc.value_counts(codes).field("counts").to_pylist(), reverse=True)
    assert sum(counts[:5]) / sum(counts) > 0.3 and counts[0] > 10 * counts[-1]


def test_corrections_are_later_versions_of_the_same_records(year: synth.SynthResult) -> None:
    for path in year.files:
        table = pq.read_table(path, columns=["record_id", "version", "recorded_at"])
        rows = table.to_pylist()
        first = {r["record_id"]: r["recorded_at"] for r in rows if r["version"] == 1}
        second = [r for r in rows if r["version"] == 2]
        assert 0.01 < len(second) / len(first) < 0.03
        assert all(r["recorded_at"] > first[r["record_id"]] for r in second)
