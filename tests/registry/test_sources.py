"""The registry's source tables are data: a third source added to the list is read "as known at T"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hdab.extracts.pipeline import steps, workfiles
from hdab.extracts.pipeline.plan import TablePlan
from hdab.registry import sources
from hdab.registry.failures import RegistryFailure

T = datetime(2026, 3, 1, tzinfo=UTC)
BIRTHS = {
    "dataset": "mfr",
    "table": "mfr-fodsler",
    "time_column": "fodselstidspunkt",
    "person_column": "mor_fodselsnummer",
    "date_columns": ["fodselstidspunkt"],
}


def births(root: Path) -> None:
    """Three births; the second corrected after T (version 2), the third recorded after T."""
    table = pa.table(
        {
            "record_id": [1, 2, 2, 3],
            "version": [1, 1, 2, 1],
            "recorded_at": pa.array(
                [
                    datetime(2026, 1, 5, tzinfo=UTC),
                    datetime(2026, 1, 9, tzinfo=UTC),
                    datetime(2026, 4, 2, tzinfo=UTC),
                    datetime(2026, 5, 1, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "mor_fodselsnummer": ["01817012345", "02817012345", "02817012345", "03817012345"],
            "fodselstidspunkt": pa.array(
                [
                    datetime(2026, 1, 2, tzinfo=UTC),
                    datetime(2026, 1, 7, tzinfo=UTC),
                    datetime(2026, 1, 7, tzinfo=UTC),
                    datetime(2026, 4, 20, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "vekt": [3400, 3100, 3150, 2900],
        }
    )
    (root / "mfr-fodsler").mkdir(parents=True)
    pq.write_table(table, root / "mfr-fodsler" / "2026.parquet")


def test_the_packaged_list_names_the_two_registries_as_data() -> None:
    assert sorted(sources.SOURCES) == ["kpr-kuhr", "npr-somatikk"]
    assert sources.SOURCES["kpr-kuhr"].time_column == "kontakttidspunkt"
    assert sources.SOURCES["npr-somatikk"].folder == "npr-somatikk"


def test_a_dataset_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="names mfr twice"):
        sources.load_sources(json.dumps([BIRTHS, BIRTHS]))


def test_a_third_source_added_as_data_is_read_as_known_at_t(tmp_path: Path) -> None:
    listed = sources.load_sources(json.dumps([*json.loads(_packaged()), BIRTHS]))
    assert sorted(listed) == ["kpr-kuhr", "mfr", "npr-somatikk"]
    births(tmp_path)
    query, params = sources.known_at(listed["mfr"], tmp_path, T)
    rows = duckdb.connect().execute(f"SELECT record_id, vekt FROM ({query}) ORDER BY 1", params).fetchall()
    assert rows == [(1, 3400), (2, 3100)]  # the correction and the third birth came later
    later = datetime(2026, 6, 1, tzinfo=UTC)
    query, params = sources.known_at(listed["mfr"], tmp_path, later)
    rows = duckdb.connect().execute(f"SELECT record_id, vekt FROM ({query}) ORDER BY 1", params).fetchall()
    assert rows == [(1, 3400), (2, 3150), (3, 2900)]
    with pytest.raises(RegistryFailure, match="no registry data for mfr"):
        sources.known_at(listed["mfr"], tmp_path / "empty", T)


def test_the_pipeline_reads_whatever_source_the_list_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Minimise finds the new source's folder, person and time columns through the list alone."""
    monkeypatch.setitem(sources.SOURCES, "mfr", sources.source_from(BIRTHS))  # type: ignore[index]
    births(tmp_path / "registry")
    plan = TablePlan(
        dataset="mfr", columns=("vekt",), time_column="fodselstidspunkt", period_start=None,
        period_end=None, cohort=(), generalisations=(), quasi_identifiers=(), pseudonymised=True, as_of=T,
    )  # fmt: skip
    work = workfiles.WorkFolder(tmp_path / "work", b"k" * 32)
    work.path.mkdir(parents=True)
    with duckdb.connect() as con:
        result = steps.minimise(con, plan, tmp_path / "registry", work)
        persons = sorted(r[0] for r in con.execute("SELECT _person FROM m").fetchall())
    assert (result.rows_in, result.rows_out) == (4, 2)
    assert persons == ["01817012345", "02817012345"]


def _packaged() -> str:
    return resources.files("hdab.registry").joinpath("sources.json").read_text(encoding="utf-8")
