"""A job that cannot run says why in words a caseworker can act on; the exception goes to the log alone.

A fresh install has an empty registry: the first permit's job must say so (not DuckDB's "No files
found that match the pattern"). Anything unexpected stores a sentence naming the step and the job,
and the log gets the exception with its traceback, every run of eleven digits masked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from hdab.core import clock, runtime
from hdab.extracts.jobs.models import ExtractJob
from hdab.extracts.pipeline import failures, statistics, steps, workfiles
from hdab.extracts.pipeline.failures import loggable, mask_person_numbers
from hdab.extracts.pipeline.plan import TablePlan
from hdab.registry import sources, synth
from hdab.registry.failures import RegistryFailure
from tests.applications.factories import People, statistics_form
from tests.applications.walk import to_approved_statistics
from tests.extracts.apps import audit_entries, jobs, permit_with, running
from tests.extracts.people import person_number

PSEUDONYMISED = {
    "dataset": "npr-somatikk",
    "variables": ["hovedtilstand", "fodselsar", "kjonn"],
    "period": {"start": "2025-01-01", "end": "2025-12-31"},
    "pseudonymised": True,
}
DAY = re.compile(r"as of (\d{4}-\d{2}-\d{2})")


@pytest.fixture
def fresh(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, People, Path]]:
    """A fresh install: the registry folder does not exist yet."""
    registry = tmp_path / "registry"
    with running(tmp_path, database_url, registry) as (client, people):
        yield client, people, registry


def as_of_day(plan: dict[str, Any] | None) -> str:
    assert plan is not None
    return datetime.fromisoformat(plan["tables"][0]["as_of"]).astimezone(clock.OSLO).date().isoformat()


def test_the_first_permit_on_a_fresh_install_says_the_registry_is_empty(
    fresh: tuple[TestClient, People, Path],
) -> None:
    client, people, _registry = fresh
    permit_with(client, people, PSEUDONYMISED)
    [job] = jobs()
    assert job.status == "failed"
    assert job.error == (
        f"no registry data for npr-somatikk as of {as_of_day(job.plan)} (the registry has no folder "
        "npr-somatikk): load the registry or run `hdab synth`"
    )
    page = client.get(f"/extracts/{job.id}", headers=people.caseworker)
    assert "no registry data for npr-somatikk" in page.text and "No files found" not in page.text
    [failed] = [e for e in audit_entries(job.id) if e.action == "extract.failed"]
    assert failed.details["reason"] == "no_registry_data"
    assert failed.details["dataset"] == "npr-somatikk" and failed.details["as_of"] == as_of_day(job.plan)


def test_a_dataset_folder_without_parquet_files_is_named(tmp_path: Path) -> None:
    (tmp_path / "npr-somatikk").mkdir()
    (tmp_path / "npr-somatikk" / "README.txt").write_text("the files come later")
    as_of = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 1 December in Oslo
    with pytest.raises(RegistryFailure) as raised:
        sources.SOURCES["npr-somatikk"].require_data(tmp_path, as_of)
    assert raised.value.reason == (
        "no registry data for npr-somatikk as of 2026-12-01 (the folder npr-somatikk holds no Parquet "
        "files): load the registry or run `hdab synth`"
    )
    plan = TablePlan(
        dataset="npr-somatikk", columns=("kjonn",), time_column="innskrivningstidspunkt",
        period_start=None, period_end=None, cohort=(), generalisations=(), quasi_identifiers=(),
        pseudonymised=False, as_of=as_of,
    )  # fmt: skip
    with duckdb.connect() as con, pytest.raises(RegistryFailure, match="holds no Parquet files"):
        steps.minimise(con, plan, tmp_path, workfiles.WorkFolder(tmp_path / "work", b"k" * 32))


def test_a_statistics_request_on_an_empty_registry_says_so(fresh: tuple[TestClient, People, Path]) -> None:
    client, people, _registry = fresh
    form = statistics_form()
    form["specification"]["tables"][0]["period"] = {"start": "2025-01-01", "end": "2025-12-31"}
    application_id = to_approved_statistics(client, people, form)
    [job] = jobs()
    assert job.kind == "statistics" and job.status == "failed"
    assert job.error and job.error.startswith("no registry data for npr-somatikk as of ")
    assert job.error.endswith("load the registry or run `hdab synth`")
    answer = client.get(f"/api/statistics/{application_id}/answer", headers=people.applicant)
    assert answer.status_code == 404


def test_an_internal_error_is_a_sentence_and_its_exception_is_logged_without_person_numbers(
    fresh: tuple[TestClient, People, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, people, registry = fresh
    synth.generate(registry, 1_500, 2025, 3)
    person = pq.read_table(registry / "npr-somatikk", partitioning=None, columns=["fodselsnummer"])[
        "fodselsnummer"
    ][0].as_py()

    def quoting_a_value(con: duckdb.DuckDBPyConnection, *_args: Any) -> steps.StepResult:
        # DuckDB quotes the value it could not convert: here a person number
        con.execute("SELECT CAST($value AS DATE)", {"value": person}).fetchall()
        raise AssertionError("DuckDB converted a person number to a date")

    monkeypatch.setattr(steps, "pseudonymise", quoting_a_value)
    with caplog.at_level(logging.DEBUG):
        permit_with(client, people, PSEUDONYMISED)
    [job] = jobs()
    assert job.status == "failed"
    assert job.error == (
        f"The extract stopped with an internal error in step pseudonymise of npr-somatikk. The service log "
        f"has the details under job {job.id}; staff can run the extract again."
    )
    [record] = [
        r for r in caplog.records if r.name == "hdab.extracts.jobs.runner" and r.levelno == logging.ERROR
    ]
    message = record.getMessage()
    assert message.startswith(f"extract job {job.id} stopped with an internal error in step pseudonymise")
    # the exception is in the message, as masked text: no exc_info a handler could render unmasked
    assert record.exc_info is None and record.exc_text is None
    assert "ConversionException" in message and "Traceback (most recent call last)" in message
    assert failures.MASK in message and person not in caplog.text
    page = client.get(f"/extracts/{job.id}", headers=people.caseworker)
    assert "internal error in step pseudonymise" in page.text and "Conversion" not in page.text
    [failed] = [e for e in audit_entries(job.id) if e.action == "extract.failed"]
    assert failed.details["reason"] == "internal_error"


def test_a_statistics_job_names_the_table_it_stopped_in(
    fresh: tuple[TestClient, People, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, people, registry = fresh
    synth.generate(registry, 1_500, 2025, 3)

    def broken(*_args: Any) -> statistics.CountedTable:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(statistics, "count_table", broken)
    form = statistics_form()
    form["specification"]["tables"][0]["period"] = {"start": "2025-01-01", "end": "2025-12-31"}
    to_approved_statistics(client, people, form)
    [job] = jobs()
    assert job.status == "failed" and job.error == (
        "The extract stopped with an internal error in counting table 1 (npr-somatikk). The service log "
        f"has the details under job {job.id}; an administrator can look into it."
    )


class TwoPartError(Exception):
    def __init__(self, what: str, value: str) -> None:
        super().__init__(f"{what}: {value}")


def caught(raiser: Any) -> BaseException:
    try:
        raiser()
    except BaseException as exc:  # the test's own exceptions, groups included
        return exc
    raise AssertionError("nothing was raised")


def test_the_logged_exception_masks_eleven_digits_in_its_whole_chain() -> None:
    number = person_number(1, 1, 1980)

    def chained() -> None:
        try:
            raise TwoPartError("could not read", number)
        except TwoPartError as inner:
            raise RuntimeError(f"step failed for {number}") from inner

    exc = caught(chained)
    text = loggable(exc)
    assert number not in text
    assert text.startswith("Traceback (most recent call last):")
    assert "RuntimeError: step failed for <11 digits>" in text
    assert "TwoPartError: could not read: <11 digits>" in text
    assert "The above exception was the direct cause of the following exception" in text
    assert number in str(exc) and number in str(exc.__cause__)  # the exception itself is untouched
    # a longer run can hold a person number: it goes whole; ten digits are not one
    masked = mask_person_numbers(f"x{number}0 {number[:10]} {number}")
    assert masked == f"x<11 digits> {number[:10]} <11 digits>" and number not in masked


def test_the_traceback_lines_are_still_there() -> None:
    def deepest() -> None:
        raise ValueError("no person here")

    def middle() -> None:
        deepest()

    text = loggable(caught(middle))
    assert text.splitlines()[0] == "Traceback (most recent call last):"
    assert f'File "{__file__}", line ' in text
    for function in ("in middle", "in deepest", "deepest()", 'raise ValueError("no person here")'):
        assert function in text
    assert text.splitlines()[-1] == "ValueError: no person here"


def test_notes_are_masked() -> None:
    number = person_number(2, 3, 1990)

    def noted() -> None:
        try:
            raise KeyError("row")
        except KeyError as inner:
            inner.add_note(f"while reading the row of {number}")
            raise RuntimeError("wrapped") from inner

    exc = caught(noted)
    assert exc.__cause__ is not None and number in str(exc.__cause__.__notes__)
    text = loggable(exc)
    assert number not in text and "while reading the row of <11 digits>" in text


def test_the_sub_exceptions_of_a_group_are_masked() -> None:
    numbers = [person_number(4, 5, 1970), person_number(6, 7, 2001)]

    def grouped() -> None:
        raise ExceptionGroup(
            "two tables failed",
            [ValueError(f"bad value {numbers[0]}"), ExceptionGroup("nested", [TypeError(numbers[1])])],
        )

    text = loggable(caught(grouped))
    assert not any(n in text for n in numbers)
    assert "ValueError: bad value <11 digits>" in text and "TypeError: <11 digits>" in text
    assert "ExceptionGroup: two tables failed (2 sub-exceptions)" in text


def test_the_root_of_a_deep_chain_is_masked() -> None:
    number = person_number(8, 9, 1960)

    def level(depth: int) -> None:
        if depth == 8:
            raise LookupError(f"the root: {number}")
        try:
            level(depth + 1)
        except Exception as exc:
            raise RuntimeError(f"level {depth}") from exc

    exc = caught(lambda: level(1))
    depth, link = 0, exc
    while link.__cause__ is not None:
        depth, link = depth + 1, link.__cause__
    assert depth == 7 and number in str(link)  # eight exceptions: seven below the one caught
    text = loggable(exc)
    assert number not in text and "LookupError: the root: <11 digits>" in text
    assert all(f"RuntimeError: level {d}" in text for d in range(1, 8))


def test_an_exception_that_cannot_print_itself_is_still_logged() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    def unprintable() -> None:
        raise Unprintable()

    text = loggable(caught(unprintable))
    assert "Unprintable" in text and text.startswith("Traceback")


def test_a_plain_exception_is_logged_as_it_is() -> None:
    assert loggable(ValueError("nothing to hide")) == "ValueError: nothing to hide"


def test_a_job_that_failed_before_errors_became_sentences_is_shown_masked(
    fresh: tuple[TestClient, People, Path],
) -> None:
    """Jobs of earlier versions stored ``Type: message``, values and all: pages and the API mask it."""
    client, people, _registry = fresh
    permit_with(client, people, PSEUDONYMISED)
    [job] = jobs()
    number = person_number(1, 2, 1985)
    raw = f"ConversionException: Conversion Error: Could not convert string '{number}' to DATE"
    with runtime.database().session() as session:
        stored = session.get(ExtractJob, job.id)
        assert stored is not None
        stored.error = raw
    page = client.get(f"/extracts/{job.id}", headers=people.caseworker)
    api = client.get(f"/api/extracts/{job.id}", headers=people.caseworker)
    assert page.status_code == api.status_code == 200
    assert number not in page.text and number not in api.text
    masked = "Could not convert string '<11 digits>' to DATE"
    assert api.json()["error"] == f"ConversionException: Conversion Error: {masked}"
    assert str(escape(masked)) in page.text and "&lt;11 digits&gt;" in page.text
