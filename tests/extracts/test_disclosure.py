"""Disclosure control counts persons, follows the catalogue, and is not the applicant's to switch off.

The oracle here is independent of the pipeline: plain Python over the source rows (the persons in
each group of equal quasi-identifiers, the distinct values of each sensitive variable in it), never
DuckDB and never the pipeline's own SQL. pycanon, which the issue names, pins exact versions of
numpy, pandas and typing-extensions that conflict with pydantic's, so it cannot share an environment
with hdab; the oracle below computes the same two measures (k over persons, distinct l).
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hdab.extracts.pipeline import plan as planning
from hdab.extracts.pipeline.run import Outcome
from tests.extracts.permits import extract_now, permit_version

QUASI = ("kjonn", "fodselsar", "kommunenummer")
CATALOGUE = {
    "npr-somatikk": planning.Disclosure(
        direct=frozenset({"lopenummer"}),
        quasi=frozenset(QUASI),
        sensitive=frozenset({"hovedtilstand"}),
        coarsen={"innskrivningstidspunkt": "month"},
    )
}
SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("version", pa.int32()),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("fodselsnummer", pa.string()),
        ("lopenummer", pa.string()),
        ("kjonn", pa.string()),
        ("fodselsar", pa.int32()),
        ("kommunenummer", pa.string()),
        ("hovedtilstand", pa.string()),
        ("innskrivningstidspunkt", pa.timestamp("us", tz="UTC")),
    ]
)
ANONYMISED = {
    "dataset": "npr-somatikk",
    "variables": [
        "kjonn",
        "fodselsar",
        "kommunenummer",
        "hovedtilstand",
        "innskrivningstidspunkt",
        "lopenummer",
    ],
    "quasi_identifiers": [],  # the applicant asks for none: the catalogue's count all the same
}


def write_registry(root: Path, rows: list[dict[str, Any]]) -> Path:
    folder = root / "npr-somatikk"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), folder / "2025.parquet")
    return root


def contact(
    record_id: int, person: int, sex: str, year: int, municipality: str, code: str | None, day: int
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "version": 1,
        "recorded_at": datetime(2025, 12, 31, tzinfo=UTC),
        "fodselsnummer": f"{person:011d}",
        "lopenummer": f"E2025-{record_id:07d}",
        "kjonn": sex,
        "fodselsar": year,
        "kommunenummer": municipality,
        "hovedtilstand": code,
        "innskrivningstidspunkt": datetime(2025, 1, 1, 9, 17, 3, tzinfo=UTC)
        + timedelta(days=day, minutes=day),
    }


def extract(
    registry: Path,
    spe: Path,
    request: dict[str, Any],
    *,
    min_k: int = 5,
    disclosure: dict[str, planning.Disclosure] | None = None,
    share: float = 1.0,
) -> Outcome:
    return extract_now(
        registry,
        spe,
        "NO-HDAB-2026-DISC",
        [request],
        min_k=min_k,
        disclosure=CATALOGUE if disclosure is None else disclosure,
        max_suppressed_share=share,
    )


def delivered(outcome: Outcome) -> list[dict[str, Any]]:
    assert outcome.delivery is not None, outcome.held
    return pq.read_table(outcome.delivery / "npr-somatikk.parquet").to_pylist()


def oracle(rows: list[dict[str, Any]], min_k: int, min_l: int) -> Counter[tuple[Any, ...]]:
    """The rows an anonymised release may hold: groups with k distinct persons and l distinct codes."""
    persons: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    codes: dict[tuple[Any, ...], set[str | None]] = defaultdict(set)
    for row in rows:
        key = tuple(row[q] for q in QUASI)
        persons[key].add(row["fodselsnummer"])
        codes[key].add(row["hovedtilstand"])  # no code (None) is a value too
    return Counter(
        (*(row[q] for q in QUASI), row["hovedtilstand"], row["innskrivningstidspunkt"].strftime("%Y-%m"))
        for row in rows
        if len(persons[key := tuple(row[q] for q in QUASI)]) >= min_k and len(codes[key]) >= min_l
    )


def as_delivered(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(
        (*(row[q] for q in QUASI), row["hovedtilstand"], row["innskrivningstidspunkt"]) for row in rows
    )


def test_k_counts_persons_not_rows(tmp_path: Path) -> None:
    """The issue's example: 1948/female was 6 rows from 3 persons and passed k=5."""
    rows = [
        contact(i, 1 + i % 3, "2", 1948, "0301", code, i)
        for i, code in enumerate(["I63", "I21", "J18", "I63", "S72", "I10"])
    ]
    # a second group: 5 persons, enough
    rows += [
        contact(100 + i, 10 + i, "1", 1950, "0301", code, i)
        for i, code in enumerate(["I63", "I21", "J18", "I63", "S72"])
    ]
    registry = write_registry(tmp_path / "registry", rows)
    outcome = extract(registry, tmp_path / "spe", ANONYMISED)
    out = delivered(outcome)
    assert {(r["kjonn"], r["fodselsar"]) for r in out} == {("1", 1950)}
    [disclosure] = outcome.manifest["disclosure"]
    assert disclosure["k"] == 5 and disclosure["suppressed_rows"] == 6
    assert as_delivered(out) == oracle(rows, 5, 2)


def test_the_applicant_cannot_remove_the_catalogues_quasi_identifiers(tmp_path: Path) -> None:
    """An empty list of quasi-identifiers once delivered every row, with exact timestamps."""
    rows = [contact(i, i, "1", 1940 + i % 60, f"{301 + i:04d}", "I63", i) for i in range(200)]
    registry = write_registry(tmp_path / "registry", rows)
    outcome = extract(registry, tmp_path / "spe", ANONYMISED)
    # every person is unique on birth year, sex and municipality: nothing may go out
    assert outcome.delivery is not None and delivered(outcome) == []
    [table] = outcome.manifest["plan"]["tables"]
    assert table["quasi_identifiers"] == list(QUASI)
    assert "lopenummer" not in table["columns"]  # a direct identifier in the catalogue never leaves


def test_exact_times_are_generalised_in_anonymised_releases_by_the_catalogue(tmp_path: Path) -> None:
    rows = [contact(i, i, "1", 1950, "0301", ("I63", "I21")[i % 2], i) for i in range(12)]
    registry = write_registry(tmp_path / "registry", rows)
    outcome = extract(registry, tmp_path / "spe", ANONYMISED)
    out = delivered(outcome)
    assert len(out) == 12
    assert {r["innskrivningstidspunkt"] for r in out} == {"2025-01"}
    dictionary = json.loads((outcome.delivery / "datadictionary.csvw.json").read_text())  # type: ignore[operator]
    columns = {c["name"]: c for c in dictionary["tables"][0]["tableSchema"]["columns"]}
    assert columns["innskrivningstidspunkt"]["hdab:anonymisedAs"] == "hdab:ToMonth"
    assert columns["kjonn"]["hdab:disclosureRole"] == "hdab:QuasiIdentifier"
    assert columns["hovedtilstand"]["hdab:disclosureRole"] == "hdab:Sensitive"


def test_a_group_with_one_diagnosis_is_not_released(tmp_path: Path) -> None:
    """Seven persons, all with I63: knowing someone is in the group tells their diagnosis."""
    rows = [contact(i, i, "2", 1960, "0301", "I63", i) for i in range(7)]
    rows += [contact(50 + i, 50 + i, "1", 1960, "0301", ("I63", None)[i % 2], i) for i in range(6)]
    registry = write_registry(tmp_path / "registry", rows)
    outcome = extract(registry, tmp_path / "spe", ANONYMISED)
    out = delivered(outcome)
    assert {r["kjonn"] for r in out} == {"1"}  # I63 and "no code" are two values
    [disclosure] = outcome.manifest["disclosure"]
    assert disclosure["l"] == 2 and disclosure["sensitive"] == ["hovedtilstand"]


def test_too_much_to_suppress_holds_the_job(tmp_path: Path) -> None:
    rows = [contact(i, i, "1", 1940 + i % 60, "0301", "I63", i) for i in range(40)]
    registry = write_registry(tmp_path / "registry", rows)
    outcome = extract(registry, tmp_path / "spe", ANONYMISED, share=0.05)
    assert outcome.delivery is None and outcome.held and "k=5 and l=2" in outcome.held


def test_pseudonymised_plans_read_as_before() -> None:
    """A pseudonymised permit's plan carries none of the anonymised release's additions."""
    request = {**ANONYMISED, "pseudonymised": True, "quasi_identifiers": ["kjonn"]}
    plan = planning.plan_for_permit([permit_version("NO-HDAB-2026-DISC", [request])], 5, disclosure=CATALOGUE)
    [table] = plan.to_json()["tables"]
    assert "sensitive" not in table and "coarsen" not in table and "min_l" not in plan.to_json()
    assert list(table["quasi_identifiers"]) == ["kjonn"]
    assert "lopenummer" not in table["columns"]


def test_an_application_may_add_quasi_identifiers_but_not_turn_a_sensitive_one_into_one() -> None:
    request = {**ANONYMISED, "variables": [*ANONYMISED["variables"], "extra"], "quasi_identifiers": ["extra"]}
    plan = planning.plan_for_permit([permit_version("NO-HDAB-2026-DISC", [request])], 5, disclosure=CATALOGUE)
    [table] = plan.tables
    assert set(table.quasi_identifiers) == {*QUASI, "extra"}
    # naming the sensitive diagnosis a quasi-identifier would make every group hold one diagnosis
    # and so switch its 2-diversity off: it stays sensitive
    request = {**ANONYMISED, "quasi_identifiers": ["hovedtilstand"]}
    plan = planning.plan_for_permit([permit_version("NO-HDAB-2026-DISC", [request])], 5, disclosure=CATALOGUE)
    [table] = plan.tables
    assert set(table.quasi_identifiers) == set(QUASI) and table.sensitive == ("hovedtilstand",)


def test_a_group_of_one_diagnosis_stays_out_when_the_applicant_calls_the_diagnosis_a_quasi_identifier(
    tmp_path: Path,
) -> None:
    rows = [contact(i, i, "1", 1950, "0301", "I63", i) for i in range(5)]
    registry = write_registry(tmp_path / "registry", rows)
    sneaky = {**ANONYMISED, "quasi_identifiers": ["hovedtilstand"]}
    assert delivered(extract(registry, tmp_path / "spe", sneaky)) == []


def test_a_dataset_asked_for_twice_is_refused() -> None:
    """Once the validator read the last copy and the planner the first: the population was lost."""
    with pytest.raises(planning.PlanError, match="more than once"):
        planning.plan_for_permit([permit_version("NO-HDAB-2026-DISC", [ANONYMISED, ANONYMISED])], 5)


def test_the_month_of_a_time_is_the_norwegian_month_on_any_worker(tmp_path: Path) -> None:
    late = contact(1, 1, "1", 1950, "0301", "I63", 0)
    late["innskrivningstidspunkt"] = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)  # 1 February in Oslo
    rows = [late] + [contact(i, i, "1", 1950, "0301", ("I21", "I63")[i % 2], 40) for i in range(2, 8)]
    registry = write_registry(tmp_path / "registry", rows)
    out = delivered(extract(registry, tmp_path / "spe", ANONYMISED))
    assert "2025-01" not in {r["innskrivningstidspunkt"] for r in out}


PERSON = st.tuples(st.sampled_from("12"), st.integers(1940, 1943), st.sampled_from(["0301", "4601"]))


@settings(
    max_examples=int(os.environ.get("HDAB_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(
        st.tuples(PERSON, st.lists(st.sampled_from(["I63", "I21", "S72", None]), min_size=1, max_size=4)),
        min_size=1,
        max_size=60,
    ),
    min_k=st.integers(2, 6),
)
def test_property_every_released_group_has_k_persons_and_two_codes(
    tmp_path_factory: pytest.TempPathFactory,
    people: list[tuple[tuple[str, int, str], list[str | None]]],
    min_k: int,
) -> None:
    root = tmp_path_factory.mktemp("prop")
    rows = []
    for person, ((sex, year, municipality), codes) in enumerate(people, start=1):
        for code in codes:
            rows.append(contact(len(rows) + 1, person, sex, year, municipality, code, len(rows) % 300))
    registry = write_registry(root / "registry", rows)
    outcome = extract(registry, root / "spe", ANONYMISED, min_k=min_k)
    out = delivered(outcome)
    expected = oracle(rows, min_k, 2)
    assert as_delivered(out) == expected
    event(f"released {'some' if out else 'none'}; suppressed {'some' if len(out) < len(rows) else 'none'}")
    [disclosure] = outcome.manifest["disclosure"]
    if out:
        assert disclosure["k"] >= min_k and disclosure["l"] >= 2
