"""Schemathesis over /openapi.json: every operation, generated inputs, a caller holding every role.

No operation may answer 5xx, and no response may break the schema the API documents for it. At most
20 examples per operation (the issue's bound, keeping ``make test`` well under its 30 minutes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from hdab.core import runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from tests.support import backends, seeding

SSB = "971526920"
RESULTS: Counter[str] = Counter()
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "schemathesis-summary.txt"


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Any]:
    from hdab.app import create_app

    root = tmp_path_factory.mktemp("fuzz")
    database = root / "hdab.db"
    database.write_bytes(sqlite_template.read_bytes())
    current = backends.make_settings(
        root / "data",
        f"sqlite:///{database}",
        registry_dir=root / "registry",
        spe_root=root / "spe",
        rate_limit_import=100_000,
        rate_limit_token_failures=100_000,
        rate_limit_signin=100_000,
    )
    runtime.configure(current)
    seeding.seed_catalogue(current)
    app = create_app(current)
    with TestClient(app):  # runs the lifespan
        yield app
    runtime.database().dispose()
    lines = [f"{key}: {count}" for key, count in sorted(RESULTS.items())]
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\nschemathesis summary\n" + "\n".join(lines))


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


@pytest.fixture(scope="module")
def every_role() -> dict[str, str]:
    token = DevIdentityProvider(runtime.settings()).issue(
        "fuzzer", list(Role), organisation=SSB, national_id="01010012356", email="fuzzer@hdab.no"
    )
    return {"Authorization": f"Bearer {token}"}


def test_no_operation_fails_or_breaks_its_schema(api_schema: Any, every_role: dict[str, str]) -> None:
    """Each operation in turn, up to 20 generated cases; every failure is collected and reported."""
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 60

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            response = case.call(headers={**(case.headers or {}), **every_role})
            RESULTS[f"{response.status_code // 100}xx"] += 1
            RESULTS["calls"] += 1
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
            )

        try:
            run()
            RESULTS["operations passed"] += 1
        except Exception as exc:
            RESULTS["operations failed"] += 1
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
