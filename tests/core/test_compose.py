"""docker-compose.yml holds the whole stack, health-checked, wired only by known HDAB_* settings."""

from __future__ import annotations

from typing import Any

import yaml

from hdab.core.settings import Settings
from tests.support.backends import REPOSITORY_ROOT

COMPOSE = REPOSITORY_ROOT / "docker-compose.yml"
REQUIRED = {"postgres", "redis", "opensearch", "api", "worker", "beat"}


def load() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_service_is_there_with_a_health_check() -> None:
    services = load()["services"]
    assert set(services) >= REQUIRED
    for name in REQUIRED:
        assert "healthcheck" in services[name], f"{name} has no health check"


def test_every_hdab_variable_is_a_known_setting() -> None:
    known = {f"HDAB_{name.upper()}" for name in Settings.model_fields}
    used: set[str] = set()
    for name, service in load()["services"].items():
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        hdab_vars = {key for key in environment if key.startswith("HDAB_")}
        assert hdab_vars <= known, f"{name} sets unknown settings {sorted(hdab_vars - known)}"
        used |= hdab_vars
    assert {"HDAB_DATABASE_URL", "HDAB_BROKER_URL", "HDAB_SEARCH_URL"} <= used


def test_api_worker_and_beat_use_postgres_redis_and_opensearch() -> None:
    services = load()["services"]
    for name in ("api", "worker", "beat"):
        env = services[name]["environment"]
        assert env["HDAB_DATABASE_URL"].startswith("postgresql://")
        assert env["HDAB_BROKER_URL"].startswith("redis://redis")
        assert env["HDAB_SEARCH_URL"] == "http://opensearch:9200"
        assert {"postgres", "redis", "opensearch"} <= set(services[name]["depends_on"])
