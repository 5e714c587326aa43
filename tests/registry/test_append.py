"""The registry's append API and its layout: parts by recorded day, "as known at T" and changes since S.

The property test draws record histories (versions learned in order, at any time), appends them in
batches as a reception would, and checks both readings against an oracle that knows nothing of
parts, days or SQL: for each record, the versions learned by T, the latest of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hdab.registry import sources
from hdab.registry.append import append
from hdab.registry.failures import RegistryFailure

SOURCE = sources.Source(
    dataset="mfr", time_column="fodselstidspunkt", person_column="mor", table="mfr-fodsler"
)
LISTED = {"mfr": SOURCE}
SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("version", pa.int32()),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("mor", pa.string()),
        ("fodselstidspunkt", pa.timestamp("us", tz="UTC")),
        ("vekt", pa.int64()),
    ]
)
START = datetime(2026, 1, 1, tzinfo=UTC)


def rows(items: list[tuple[int, int, datetime, int]]) -> pa.Table:
    """(record, version, recorded at, weight) as rows of the births table."""
    return pa.Table.from_pylist(
        [
            {"record_id": r, "version": v, "recorded_at": at, "mor": f"0181701{r:04d}",
             "fodselstidspunkt": START, "vekt": w}
            for r, v, at, w in items
        ],
        schema=SCHEMA,
    )  # fmt: skip


def read(root: Path, as_of: datetime, since: datetime | None = None) -> set[tuple[int, int, int]]:
    query, params = sources.known_at(SOURCE, root, as_of, since)
    with duckdb.connect() as con:
        found = con.execute(f"SELECT record_id, version, vekt FROM ({query})", params).fetchall()
    assert len(found) == len(set(found))
    return set(found)


def test_rows_go_into_one_new_part_per_recorded_day(tmp_path: Path) -> None:
    written = append(
        tmp_path,
        "mfr",
        rows([(1, 1, START + timedelta(hours=1), 3400), (2, 1, START + timedelta(days=2), 3100),
              (3, 1, START + timedelta(hours=5), 2900)]),
        name="report-1",
        sources=LISTED,
    )  # fmt: skip
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "mfr-fodsler/recorded_date=2026-01-01/part-report-1.parquet",
        "mfr-fodsler/recorded_date=2026-01-03/part-report-1.parquet",
    ]
    assert pq.read_table(written[0])["record_id"].to_pylist() == [1, 3]  # in the order given
    assert not list(tmp_path.rglob("*.tmp"))
    assert SOURCE.parts(tmp_path, known_at=START + timedelta(days=1)) == written[:1]
    assert SOURCE.parts(tmp_path, recorded_after=START + timedelta(days=2, hours=3)) == written[1:]


def test_first_versions_and_corrections_are_in_row_groups_of_their_own(tmp_path: Path) -> None:
    [part] = append(
        tmp_path,
        "mfr",
        rows(
            [(1, 1, START, 1), (2, 2, START + timedelta(hours=2), 2), (3, 1, START + timedelta(hours=3), 3)]
        ),
        name="r",
        sources=LISTED,
    )
    meta = pq.ParquetFile(part).metadata
    version = SCHEMA.get_field_index("version")
    ranges = [
        (meta.row_group(i).column(version).statistics.min, meta.row_group(i).column(version).statistics.max)
        for i in range(meta.num_row_groups)
    ]
    assert ranges == [(1, 1), (2, 2)]


def test_an_append_that_breaks_the_contract_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    good = rows([(1, 1, START, 3400)])
    append(tmp_path, "mfr", good, name="a", sources=LISTED)
    before = sorted(tmp_path.rglob("*"))
    cases = [
        (good, "a", "already has the part"),
        (good.drop_columns(["version"]), "b", "lack version"),
        (good.drop_columns(["vekt"]), "c", "do not have the columns"),
        (good.set_column(5, "vekt", pa.array([3.4])), "d", "do not have the columns"),
        (rows([(2, 1, START, 1), (2, 1, START, 1)]), "e", "given twice"),
        (rows([(2, 1, START + timedelta(days=1), 1), (2, 2, START, 1)]), "f", "recorded after"),
        (rows([(2, 0, START, 1)]), "g", "start at 1"),
        (good, "../x", "not a part name"),
    ]
    for table, name, message in cases:
        with pytest.raises(RegistryFailure, match=message):
            append(tmp_path, "mfr", table, name=name, sources=LISTED)
    naive = good.set_column(2, "recorded_at", good["recorded_at"].cast(pa.timestamp("us")))
    with pytest.raises(RegistryFailure, match="time zone"):
        append(tmp_path, "mfr", naive, name="h", sources=LISTED)
    with pytest.raises(RegistryFailure, match="no dataset"):
        append(tmp_path, "nope", good, name="i", sources=LISTED)
    assert sorted(tmp_path.rglob("*")) == before


def test_an_append_that_fails_part_way_leaves_no_part_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hdab.registry import append as appending

    written = appending._write
    calls: list[int] = []

    def failing(rows: pa.Table, tmp: Path, durable: bool) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("the disk is full")
        written(rows, tmp, durable)

    monkeypatch.setattr(appending, "_write", failing)
    three_days = rows([(r, 1, START + timedelta(days=r), 1) for r in (1, 2, 3)])
    with pytest.raises(OSError, match="disk is full"):
        append(tmp_path, "mfr", three_days, name="r", sources=LISTED)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
    monkeypatch.undo()
    assert len(append(tmp_path, "mfr", three_days, name="r", sources=LISTED)) == 3  # the same report again


def test_loose_files_beside_the_parts_are_read_by_every_reading(tmp_path: Path) -> None:
    append(tmp_path, "mfr", rows([(1, 1, START + timedelta(days=30), 3400)]), name="a", sources=LISTED)
    pq.write_table(rows([(2, 1, START + timedelta(days=40), 3100)]), tmp_path / "mfr-fodsler" / "old.parquet")
    assert read(tmp_path, START + timedelta(days=50)) == {(1, 1, 3400), (2, 1, 3100)}
    assert read(tmp_path, START + timedelta(days=35)) == {(1, 1, 3400)}
    assert read(tmp_path, START) == set()  # nothing known yet: the earliest part stands in, empty


# --- the property: the readings agree with an oracle over the record histories ---------------------

HOUR = timedelta(hours=1)


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[int, int, datetime, int]]:
    """Records with 1 to 3 versions, each learned some hours to days after the one before."""
    items = []
    for record in range(1, draw(st.integers(1, 12)) + 1):
        at = START + draw(st.integers(0, 24 * 20)) * HOUR
        for version in range(1, draw(st.integers(1, 3)) + 1):
            items.append((record, version, at, draw(st.integers(1000, 5000))))
            at += draw(st.integers(1, 24 * 6)) * HOUR
    return items


def oracle(items: list[tuple[int, int, datetime, int]], as_of: datetime, since: datetime | None):
    latest: dict[int, tuple[int, datetime, int]] = {}
    for record, version, at, weight in items:
        if at <= as_of and (record not in latest or version > latest[record][0]):
            latest[record] = (version, at, weight)
    return {
        (record, version, weight)
        for record, (version, at, weight) in latest.items()
        if since is None or at > since
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=histories(),
    batches=st.integers(1, 4),
    as_of_hours=st.integers(0, 24 * 40),
    window_hours=st.integers(1, 24 * 5),
)
def test_as_known_at_t_and_changes_since_s_agree_with_the_oracle(
    tmp_path_factory: pytest.TempPathFactory,
    items: list[tuple[int, int, datetime, int]],
    batches: int,
    as_of_hours: int,
    window_hours: int,
) -> None:
    root = tmp_path_factory.mktemp("registry")
    # appended as reports arrive: in order of learning, a few batches (each batch any mix of days)
    ordered = sorted(items, key=lambda i: i[2])
    size = -(-len(ordered) // batches)
    for n, start in enumerate(range(0, len(ordered), size)):
        append(root, "mfr", rows(ordered[start : start + size]), name=f"batch-{n}", sources=LISTED)
    as_of = START + as_of_hours * HOUR
    since = as_of - window_hours * HOUR
    assert read(root, as_of) == oracle(items, as_of, None)
    assert read(root, as_of, since) == oracle(items, as_of, since)
    # and the changes reading touched only the parts of the days since then
    days = {p.parent.name for p in SOURCE.parts(root, as_of, since)}
    assert all(sources.partition_day(d) >= since.date() for d in days)  # type: ignore[operator]
