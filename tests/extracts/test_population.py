"""Minimisation follows the study population across datasets, periods are Norwegian days (issue 14 item 3).

A permit for stroke patients in NPR and their GP contacts in KPR delivers the KPR rows of those
patients only, unless the application asks for everyone and says why. "2023" means the Norwegian
year: a contact at 00:30 on 1 January 2024 in Oslo is 2024, although it is still 2023 in UTC. Plans
carry a version; a permit extracted before version 2 keeps version 1 and reproduces what it gave.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hdab.applications.domain import CaseType, DataSpecification
from hdab.applications.forms import narrows, specification_errors
from hdab.core import runtime
from hdab.core.files import sha256_file
from hdab.extracts.jobs.models import ExtractJob
from hdab.extracts.pipeline import plan as planning
from hdab.extracts.pipeline.run import Outcome
from hdab.registry import synth
from tests.applications.factories import People
from tests.applications.walk import settle
from tests.extracts.apps import jobs, permit_with
from tests.extracts.permits import APPROVED, extract_now

OSLO = ZoneInfo("Europe/Oslo")
STROKE = {
    "dataset": "npr-somatikk",
    "variables": ["hovedtilstand", "kjonn", "fodselsar"],
    "period": {"start": "2025-01-01", "end": "2025-12-31"},
    "cohort": [{"variable": "hovedtilstand", "prefixes": ["I63", "I61"]}],
    "pseudonymised": True,
}
GP = {
    "dataset": "kpr-kuhr",
    "variables": ["hoveddiagnose", "kontakttidspunkt"],
    "period": {"start": "2025-01-01", "end": "2025-12-31"},
    "pseudonymised": True,
}
EVERYONE = {
    **GP,
    "whole_population": True,
    "whole_population_reason": "a comparison group of all GP patients",
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    synth.generate(root, 5_000, 2025, 11)
    return root


def extract(
    registry: Path, spe: Path, datasets: list[dict[str, Any]], *, version: int = planning.PLAN_VERSION
) -> Outcome:
    return extract_now(registry, spe, "NO-HDAB-2026-POP", datasets, plan_version=version)


def pseudonyms(outcome: Outcome, dataset: str) -> set[str]:
    assert outcome.delivery is not None, outcome.held
    return set(pq.read_table(outcome.delivery / f"{dataset}.parquet")["pseudonym"].to_pylist())


def persons_in(registry: Path, dataset: str, keep: Any) -> set[str]:
    """The persons of the rows ``keep`` accepts, in each record's latest version known at the approval."""
    latest: dict[int, dict[str, Any]] = {}
    for row in pq.read_table(registry / dataset, partitioning=None).to_pylist():
        seen = latest.get(row["record_id"], {"version": 0})["version"]
        if row["recorded_at"] <= APPROVED and row["version"] >= seen:
            latest[row["record_id"]] = row
    return {r["fodselsnummer"] for r in latest.values() if keep(r)}


def in_2025(column: str) -> Any:
    return lambda r: r[column].astimezone(OSLO).year == 2025


def test_the_other_dataset_delivers_the_study_populations_persons_only(
    registry: Path, tmp_path: Path
) -> None:
    outcome = extract(registry, tmp_path / "spe", [STROKE, GP])
    npr, kpr = pseudonyms(outcome, "npr-somatikk"), pseudonyms(outcome, "kpr-kuhr")
    assert kpr and kpr <= npr  # the same permit's pseudonyms: KPR holds stroke patients only
    # an independent reading of the sources: stroke patients of 2025 with a GP contact in 2025
    stroke = persons_in(
        registry,
        "npr-somatikk",
        lambda r: in_2025("innskrivningstidspunkt")(r) and str(r["hovedtilstand"]).startswith(("I63", "I61")),
    )
    gp = persons_in(registry, "kpr-kuhr", in_2025("kontakttidspunkt"))
    assert len(kpr) == len(stroke & gp) < len(gp) / 5
    [_, table] = outcome.manifest["plan"]["tables"]
    assert table["population"]["dataset"] == "npr-somatikk"


def test_the_whole_population_is_explicit(registry: Path, tmp_path: Path) -> None:
    outcome = extract(registry, tmp_path / "spe", [STROKE, EVERYONE])
    gp = persons_in(registry, "kpr-kuhr", in_2025("kontakttidspunkt"))
    assert len(pseudonyms(outcome, "kpr-kuhr")) == len(gp)
    assert "population" not in outcome.manifest["plan"]["tables"][1]


def test_a_version_1_plan_reads_as_before_and_reproduces_byte_for_byte(
    registry: Path, tmp_path: Path
) -> None:
    first = extract(registry, tmp_path / "a", [STROKE, GP], version=1)
    again = extract(registry, tmp_path / "b", [STROKE, GP], version=1)
    for name in ("npr-somatikk.parquet", "kpr-kuhr.parquet"):
        assert first.delivery is not None and again.delivery is not None
        assert sha256_file(first.delivery / name) == sha256_file(again.delivery / name)
    plan = first.manifest["plan"]
    assert "plan_version" not in plan and "min_l" not in plan
    for table in plan["tables"]:
        assert not {"population", "period_from", "period_until", "sensitive", "coarsen"} & table.keys()
    gp = persons_in(registry, "kpr-kuhr", lambda r: True)
    assert len(pseudonyms(first, "kpr-kuhr")) > len(gp) / 2  # version 1: no study population


KPR_SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("version", pa.int32()),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("fodselsnummer", pa.string()),
        ("hoveddiagnose", pa.string()),
        ("kontakttidspunkt", pa.timestamp("us", tz="UTC")),
    ]
)


def test_a_period_is_read_in_norwegian_time(tmp_path: Path) -> None:
    moments = {
        "new-year-2023-oslo": datetime(2023, 1, 1, 0, 30, tzinfo=OSLO),  # 2022 in UTC
        "mid-2023": datetime(2023, 6, 1, 12, 0, tzinfo=OSLO),
        "new-year-2024-oslo": datetime(2024, 1, 1, 0, 30, tzinfo=OSLO),  # still 2023 in UTC
    }
    rows = [
        {
            "record_id": i,
            "version": 1,
            "recorded_at": datetime(2024, 3, 1, tzinfo=UTC),
            "fodselsnummer": f"{i:011d}",
            "hoveddiagnose": name,
            "kontakttidspunkt": moment.astimezone(UTC),
        }
        for i, (name, moment) in enumerate(moments.items(), start=1)
    ]
    (tmp_path / "registry" / "kpr-kuhr").mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist(rows, schema=KPR_SCHEMA), tmp_path / "registry" / "kpr-kuhr" / "2023.parquet"
    )
    year = {**GP, "period": {"start": "2023-01-01", "end": "2023-12-31"}}
    outcome = extract(tmp_path / "registry", tmp_path / "spe", [year])
    assert outcome.delivery is not None
    got = set(pq.read_table(outcome.delivery / "kpr-kuhr.parquet")["hoveddiagnose"].to_pylist())
    assert got == {"new-year-2023-oslo", "mid-2023"}


def spec(*datasets: dict[str, Any], population: str | None = None) -> DataSpecification:
    data: dict[str, Any] = {"datasets": list(datasets)}
    if population:
        data["population"] = population
    return DataSpecification.model_validate(data)


def lookup(identifier: str) -> frozenset[str] | None:
    return frozenset({*STROKE["variables"], *GP["variables"], "bitilstand"})


def errors_of(specification: DataSpecification) -> dict[str, str]:
    found = specification_errors(CaseType.ACCESS, specification, lookup, public_sector=False)
    return {e.field: e.message for e in found}


def test_the_form_asks_which_dataset_defines_the_population_when_it_is_not_evident() -> None:
    assert errors_of(spec(STROKE, GP)) == {}
    assert spec(STROKE, GP).population_dataset() == "npr-somatikk"
    gp_cohort = {**GP, "cohort": [{"variable": "hoveddiagnose", "prefixes": ["K90"]}]}
    third = {**GP, "dataset": "npr-somatikk-2", "cohort": []}
    problems = errors_of(spec(STROKE, gp_cohort, third))
    assert "name the dataset" in problems["specification.population"]
    assert errors_of(spec(STROKE, gp_cohort, third, population="kpr-kuhr")) == {}
    assert "no criteria" in errors_of(spec(STROKE, GP, population="kpr-kuhr"))["specification.population"]


def test_the_whole_population_needs_a_reason_and_a_caseworker_cannot_widen_to_it() -> None:
    bare = {**GP, "whole_population": True}
    assert "say why" in errors_of(spec(STROKE, bare))["specification.datasets.1.whole_population_reason"]
    assert errors_of(spec(STROKE, EVERYONE)) == {}
    widened = {e.field for e in narrows(spec(STROKE, GP), spec(STROKE, EVERYONE))}
    assert "specification.datasets.1.whole_population" in widened
    assert narrows(spec(STROKE, EVERYONE), spec(STROKE, GP)) == []  # narrowing to the population is fine


def test_a_permit_extracted_before_plan_versions_keeps_version_1(app: tuple[TestClient, People]) -> None:
    client, people = app
    permit_id = permit_with(client, people, GP)["permit_id"]
    settle()
    [job] = jobs()
    assert job.status == "delivered" and job.plan is not None and job.plan["plan_version"] == 2
    # as if it had run before versions existed: its stored plan has none
    with runtime.database().session() as session:
        stored = session.scalars(select(ExtractJob).where(ExtractJob.id == job.id)).one()
        stored.plan = {k: v for k, v in stored.plan.items() if k != "plan_version"}  # type: ignore[union-attr]
    response = client.post("/api/extracts", json={"permit_id": permit_id}, headers=people.caseworker)
    assert response.status_code == 201, response.text
    settle()
    _, rerun = jobs()
    assert rerun.status == "delivered" and rerun.plan is not None
    assert "plan_version" not in rerun.plan and "period_from" not in rerun.plan["tables"][0]
    manifest = json.loads((Path(str(rerun.delivery_path)) / "manifest.json").read_text())
    assert "plan_version" not in manifest["plan"]


def test_a_dataset_asked_for_twice_is_an_error_in_the_form() -> None:
    plain = {**STROKE, "cohort": []}
    problems = errors_of(spec(plain, STROKE, GP))
    assert "more than once" in problems["specification.datasets"]


def test_a_caseworker_cannot_widen_the_cohort_under_the_name_of_narrowing() -> None:
    def cohort(*criteria: tuple[str, list[str]]) -> dict[str, Any]:
        return {**STROKE, "cohort": [{"variable": v, "prefixes": p} for v, p in criteria]}

    asked = spec(cohort(("hovedtilstand", ["I63"])), GP)
    for wider in (
        cohort(("hovedtilstand", ["I"])),
        cohort(("hovedtilstand", ["I63", "J"])),
        cohort(("bitilstand", ["I63"])),
        {**STROKE, "cohort": []},
    ):
        fields = {e.field for e in narrows(asked, spec(wider, GP))}
        assert "specification.datasets.0.cohort" in fields, wider
    both = spec(cohort(("hovedtilstand", ["I63"]), ("bitilstand", ["E11"])), GP)
    assert narrows(both, spec(cohort(("hovedtilstand", ["I63"])), GP))  # dropping an AND widens
    # narrower: a longer prefix, fewer alternatives, one more criterion
    assert narrows(asked, spec(cohort(("hovedtilstand", ["I630"])), GP)) == []
    assert narrows(spec(cohort(("hovedtilstand", ["I63", "I61"])), GP), asked) == []
    assert narrows(asked, spec(cohort(("hovedtilstand", ["I63"]), ("kjonn", ["2"])), GP)) == []


def test_a_period_beyond_the_registry_years_is_refused_when_asked_for() -> None:
    """An end of 9999-12-31 was approved and every extract then failed on midnight of year 10000."""
    from pydantic import ValidationError

    for period in (
        {"start": "2025-01-01", "end": "9999-12-31"},
        {"start": "0001-01-01", "end": "2025-12-31"},
    ):
        with pytest.raises(ValidationError, match="period"):
            spec({**GP, "period": period})
