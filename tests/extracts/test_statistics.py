"""Statistics answers: counts with primary and secondary suppression that no margin can undo."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from hdab.extracts.pipeline.statistics import TOTAL, Cell, TableSpec, count_table, margins, suppress
from hdab.extracts.pipeline.steps import hmac_python
from tests.applications.factories import ALL_MET, People, statistics_form
from tests.applications.walk import command, create, settle, to_approved_statistics
from tests.extracts.test_jobs import jobs, registry  # noqa: F401 - fixtures shared with the job tests


def recoverable(cells: dict[Cell, int], dimensions: int, hidden: frozenset[Cell]) -> list[Cell]:
    """An independent check: a hidden value is recoverable when its line has it as the only hidden one."""
    full = {**cells, **margins(cells, dimensions)}
    found = []
    for d in range(dimensions):
        keys = {(*c[:d], TOTAL, *c[d + 1 :]) for c in full}
        for key in keys:
            line = [c for c in full if (*c[:d], TOTAL, *c[d + 1 :]) == key]
            hidden_here = [c for c in line if c in hidden]
            if len(hidden_here) == 1:
                found.extend(hidden_here)
    return found


def test_a_small_cell_is_suppressed_with_a_partner_in_every_line() -> None:
    cells = {("1", "2020"): 30, ("1", "2021"): 3, ("2", "2020"): 25, ("2", "2021"): 40}
    hidden, primary, secondary = suppress(cells, 2, 5)
    assert ("1", "2021") in hidden and primary == 1 and secondary >= 1
    assert recoverable(cells, 2, hidden) == []
    assert all(count >= 5 for cell, count in {**cells, **margins(cells, 2)}.items() if cell not in hidden)


@given(
    st.dictionaries(
        st.tuples(st.sampled_from("ABCD"), st.sampled_from("xyz")),
        st.integers(1, 40),
        min_size=1,
        max_size=12,
    ),
    st.integers(2, 10),
)
def test_no_published_count_is_small_and_no_suppressed_one_can_be_recovered(
    cells: dict[Cell, int], k: int
) -> None:
    hidden, _, _ = suppress(cells, 2, k)
    full = {**cells, **margins(cells, 2)}
    assert all(count >= k for cell, count in full.items() if cell not in hidden)
    assert recoverable(cells, 2, hidden) == []


def test_one_dimension_with_its_total() -> None:
    cells = {(str(i),): n for i, n in enumerate([50, 2, 60, 70])}
    hidden, _, _ = suppress(cells, 1, 5)
    assert ("1",) in hidden and len([c for c in hidden if c != (TOTAL,)]) >= 2


def test_an_approved_statistics_request_is_answered_with_suppressed_tables(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    form = statistics_form()
    form["specification"]["tables"][0]["period"] = {"start": "2025-01-01", "end": "2025-12-31"}
    case_id = to_approved_statistics(client, people, form)
    [job] = jobs()
    assert job.kind == "statistics" and job.status == "delivered", job.error
    assert client.get(f"/api/applications/{case_id}", headers=people.applicant).json()["status"] == "ANSWERED"
    answer = client.get(f"/api/statistics/{case_id}/answer", headers=people.applicant)
    assert answer.status_code == 200
    table = answer.json()["tables"][0]
    assert table["dimensions"] == ["kjonn", "fodselsar"]
    rows = table["rows"]
    assert all(r["count"] is None or r["count"] >= 5 for r in rows)
    # a suppressed cell is not listed at all: its key alone would say someone has that combination
    assert not [r for r in rows if r["suppressed"] and TOTAL not in (r["kjonn"], r["fodselsar"])]
    assert len(rows) < len({(r["kjonn"], r["fodselsar"]) for r in rows}) + 1  # no duplicate keys
    assert client.get(f"/api/statistics/{case_id}/answer", headers=people.stranger).status_code == 404


def test_answer_counts_match_an_independent_count(
    app: tuple[TestClient, People],
    registry,  # noqa: F811 - the fixture
) -> None:
    import pyarrow.parquet as pq

    client, people = app
    form = statistics_form()
    form["specification"]["tables"][0] = {
        "title": "by sex",
        "dimensions": [{"dataset": "npr-somatikk", "variable": "kjonn"}],
        "measure": "records",
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
    }
    case_id = create(client, people.applicant, form, kind="statistics")
    for who, name, body in [
        (people.applicant, "submit", None),
        (people.caseworker, "start-pre-screening", None),
        (people.caseworker, "start-processing", None),
        (people.caseworker, "estimate-fee", {"amount": "0"}),
        (people.caseworker, "record-assessment", {"criteria": ALL_MET}),
        (people.decision_maker, "approve", {}),
    ]:
        command(client, who, case_id, name, body)
    settle()  # the answer is counted after the approval has answered
    rows = client.get(f"/api/statistics/{case_id}/answer", headers=people.applicant).json()["tables"][0][
        "rows"
    ]
    table = pq.read_table(registry / "npr-somatikk", partitioning=None).to_pylist()
    latest: dict[int, dict[str, object]] = {}
    for row in table:
        if row["version"] >= latest.get(row["record_id"], {"version": 0})["version"]:  # type: ignore[operator]
            latest[row["record_id"]] = row
    oslo = ZoneInfo("Europe/Oslo")  # "2025" is the Norwegian year
    expected = Counter(
        str(r["kjonn"])
        for r in latest.values()
        if r["innskrivningstidspunkt"].astimezone(oslo).year == 2025  # type: ignore[attr-defined]
    )
    assert {r["kjonn"]: r["count"] for r in rows if r["kjonn"] != TOTAL} == dict(expected)
    assert next(r["count"] for r in rows if r["kjonn"] == TOTAL) == sum(expected.values())


def test_a_direct_identifier_is_never_a_dimension_and_times_count_by_month() -> None:
    from types import SimpleNamespace

    from hdab.extracts.pipeline.plan import Disclosure
    from hdab.extracts.pipeline.statistics import specs_from_request

    def table(variable: str) -> SimpleNamespace:
        return SimpleNamespace(
            title="t",
            dimensions=[SimpleNamespace(dataset="kpr-kuhr", variable=variable)],
            measure=SimpleNamespace(value="persons"),
            period=SimpleNamespace(start=date(2025, 1, 1), end=date(2025, 12, 31)),
        )

    catalogue = {
        "kpr-kuhr": Disclosure(direct=frozenset({"lopenummer"}), coarsen={"kontakttidspunkt": "month"})
    }
    for identifying in ("lopenummer", "fodselsnummer"):
        with pytest.raises(ValueError, match="cannot be a dimension"):
            specs_from_request([table(identifying)], catalogue)
    [spec] = specs_from_request([table("kontakttidspunkt")], catalogue)
    assert spec.coarsen == (("kontakttidspunkt", "month"),)


def test_opted_out_persons_are_not_counted_art71(registry: Path) -> None:  # noqa: F811 - the fixture
    """The counts leave out every person whose opt-out's keyed hash is given, and only them."""
    key = b"statistics-optout-key-statistics-opt"
    spec = TableSpec(
        "Persons by sex", "npr-somatikk", ("kjonn",), "persons", date(2025, 1, 1), date(2025, 12, 31)
    )
    as_of = datetime(2026, 9, 1, tzinfo=UTC)
    rows = pq.read_table(
        registry / "npr-somatikk",
        partitioning=None,
        columns=["fodselsnummer", "kjonn", "innskrivningstidspunkt"],
    ).to_pylist()
    # women surely in the period (a contact well inside 2025): each is one person of the count
    women = sorted(
        {
            r["fodselsnummer"]
            for r in rows
            if r["kjonn"] == "2" and 3 <= r["innskrivningstidspunkt"].month <= 10
        }
    )[:7]
    with duckdb.connect() as con:
        everyone = count_table(con, spec, registry, as_of, frozenset(), key, 1).cells
        opted_out = frozenset(hmac_python(key, p) for p in women)
        fewer = count_table(con, spec, registry, as_of, opted_out, key, 1).cells
    assert len(women) == 7
    assert fewer[("2",)] == everyone[("2",)] - 7
    assert fewer[("1",)] == everyone[("1",)]
