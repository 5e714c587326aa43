"""Nothing leaks: over generated permits, no opted-out person, no identifier, no key in any delivered file."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hdab.core.identifiers import is_person_number
from hdab.extracts.pipeline import plan as planning
from hdab.extracts.pipeline import steps
from hdab.extracts.pipeline.run import Keys, run_plan
from hdab.registry import synth
from tests.extracts.permits import permit_version

MASTER = "property-master-key-property-master-key"
OPTOUT_KEY = b"property-optout-key-property-optout"
NPR = [
    "hovedtilstand", "bitilstand", "kjonn", "fodselsar", "kommunenummer", "bydel", "innskrivningstidspunkt",
    "lopenummer", "institusjon", "drg", "mottatt_dato", "dodsdato", "fodselsnummer",
]  # fmt: skip
KPR = [
    "hoveddiagnose",
    "kjonn",
    "fodselsar",
    "kommunenummer",
    "takstkoder",
    "kontakttidspunkt",
    "fodselsnummer",
]
ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
SHA256 = re.compile(r"[0-9a-f]{64}")


def person_numbers_in(document: Any) -> list[str]:
    """Every valid person number in a JSON document's strings and numbers. A SHA-256 digest is not
    searched: its hex may hold eleven digits in a row that pass the checks by chance (seen once:
    ...dd[89291493735]cb... in the data dictionary's digest)."""
    if isinstance(document, dict):
        return [
            n for key, value in document.items() for n in person_numbers_in(key) + person_numbers_in(value)
        ]
    if isinstance(document, list):
        return [n for value in document for n in person_numbers_in(value)]
    if isinstance(document, str) and SHA256.fullmatch(document):
        return []
    if isinstance(document, str | int):
        return [m for m in ELEVEN_DIGITS.findall(str(document)) if is_person_number(m)]
    return []


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("registry")
    synth.generate(root, 2_500, 2025, 21)
    persons = sorted(
        set(pq.read_table(root / "npr-somatikk", partitioning=None)["fodselsnummer"].to_pylist())
    )
    return root, persons


def datasets() -> st.SearchStrategy[list[dict[str, Any]]]:
    def request(name: str, columns: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        code_column = "hovedtilstand" if name == "npr-somatikk" else "hoveddiagnose"
        cohort = [{"variable": code_column, "prefixes": ["S", "I", "R", "A0"]}]
        return st.fixed_dictionaries(
            {
                "dataset": st.just(name),
                "variables": st.lists(st.sampled_from(columns), min_size=1, max_size=6, unique=True),
                "pseudonymised": st.booleans(),
                "generalisations": st.lists(
                    st.sampled_from(["municipality_to_county", "dates_to_month"]), unique=True, max_size=2
                ),
                "cohort": st.sampled_from([[], cohort]),
            }
        )

    return st.lists(
        st.one_of(request("npr-somatikk", NPR), request("kpr-kuhr", KPR)),
        min_size=1,
        max_size=2,
        unique_by=lambda d: d["dataset"],
    ).map(_with_cohort_variables)


def _with_cohort_variables(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for request in requests:
        for criterion in request["cohort"]:
            if criterion["variable"] not in request["variables"]:
                request["cohort"] = []
    return requests


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=datasets(), share=st.sampled_from([0.0, 0.05, 0.3]), index=st.integers(0, 10_000))
def test_no_opted_out_person_no_identifier_and_no_key_in_any_delivery(
    registry: tuple[Path, list[str]],
    tmp_path_factory: pytest.TempPathFactory,
    caplog: pytest.LogCaptureFixture,
    requests: list[dict[str, Any]],
    share: float,
    index: int,
) -> None:
    root, persons = registry
    opted = persons[: int(len(persons) * share)]
    permit_id = f"NO-HDAB-2026-P{index:05d}"
    key = steps.permit_key(MASTER, permit_id)
    if all(r["variables"] == ["fodselsnummer"] for r in requests[:1]):
        # a permit of identifiers only is refused before any work is done
        with pytest.raises(planning.PlanError, match="only direct identifiers"):
            planning.plan_for_permit([permit_version(permit_id, requests)], 5)
        return
    try:
        plan = planning.plan_for_permit([permit_version(permit_id, requests)], 5)
    except planning.PlanError:
        return  # the second dataset asked for identifiers only: refused as above
    spe = tmp_path_factory.mktemp("spe")
    with caplog.at_level(logging.DEBUG):
        outcome = run_plan(
            plan,
            registry=root,
            spe_root=spe,
            delivery_id="d",
            keys=Keys(key, OPTOUT_KEY),
            opted_out=lambda _at: frozenset(steps.hmac_python(OPTOUT_KEY, p) for p in opted),
            optout_receipt=lambda at: {"as_of": at.isoformat()},
            dictionary={},
            principals=["kari@idp"],
        )
    if outcome.delivery is None:
        assert outcome.held  # a held job delivers nothing at all
        assert not list(spe.rglob("*.parquet"))
        return
    secrets = [key.hex().encode(), MASTER.encode(), OPTOUT_KEY, OPTOUT_KEY.hex().encode()]
    opted_pseudonyms = {steps.hmac_python(key, p)[:32] for p in opted}
    for path in outcome.delivery.iterdir():
        data = path.read_bytes()
        assert not any(secret in data for secret in secrets), path.name
        assert b"fodselsnummer" not in data, path.name
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.column_names:
                values = {str(v) for v in table[column].to_pylist() if v is not None}
                assert not any(is_person_number(v) for v in values), (path.name, column)
                if column == "pseudonym":
                    assert not values & opted_pseudonyms
        else:
            assert not person_numbers_in(json.loads(data)), path.name
    logged = caplog.text
    assert not any(p in logged for p in persons[:50]) and key.hex() not in logged and MASTER not in logged
