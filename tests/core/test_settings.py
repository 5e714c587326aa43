"""Settings: HDAB_* variables, defaults, and the production refusals."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hdab.core.settings import (
    DEV_AUDIT_MAC_KEY,
    DEV_SECRET_KEY,
    ConfigurationError,
    Settings,
    load_settings,
)
from tests.support.cli import clean_env, run_hdab

STRONG = {
    "secret_key": "s" * 40,
    "pseudonym_master_key": "p" * 40,
    "optout_hash_key": "o" * 40,
    "audit_mac_key": "a" * 40,
    "reception_storage_key": "r" * 40,
    "database_url": "postgresql://hdab@db.example/hdab",
    "base_url": "https://hdab.example.no",
}


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HDAB_"):
            monkeypatch.delenv(name)


def test_defaults_give_the_embedded_sqlite_database_under_the_data_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("HDAB_DATA_DIR", "/srv/hdab")
    settings = load_settings()
    assert settings.env == "dev"
    assert settings.database_url == "sqlite:////srv/hdab/hdab.db"
    assert settings.broker_url == "" and settings.search_url == ""
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.dev_idp_enabled


def test_base_url_follows_host_and_port_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("HDAB_PORT", "9000")
    assert load_settings().base_url == "http://127.0.0.1:9000"


def test_every_setting_is_read_from_its_hdab_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("HDAB_BROKER_URL", "redis://r:6379/0")
    monkeypatch.setenv("HDAB_SEARCH_URL", "http://search:9200")
    monkeypatch.setenv("HDAB_BASE_URL", "https://data.example.no/")
    monkeypatch.setenv("HDAB_PORT", "9000")
    settings = load_settings()
    assert settings.broker_url == "redis://r:6379/0"
    assert settings.search_url == "http://search:9200"
    assert settings.base_url == "https://data.example.no"  # no trailing slash in minted URIs
    assert settings.port == 9000


def test_invalid_value_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("HDAB_PORT", "eighty")
    with pytest.raises(ConfigurationError, match=r"^invalid setting HDAB_PORT: ") as info:
        load_settings()
    assert "\n" not in str(info.value)


def test_a_list_setting_that_is_not_json_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("HDAB_OIDC_PROVIDERS", "helseid")
    with pytest.raises(ConfigurationError, match=r"^invalid setting HDAB_OIDC_PROVIDERS: it must be JSON"):
        load_settings()
    monkeypatch.setenv("HDAB_OIDC_PROVIDERS", '[{"name": "helseid"}]')
    with pytest.raises(ConfigurationError, match=r"^invalid setting HDAB_OIDC_PROVIDERS\.0\.TITLE: "):
        load_settings()


def test_production_with_strong_settings_starts() -> None:
    Settings(env="production", **STRONG).ensure_startable()


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"secret_key": DEV_SECRET_KEY}, "HDAB_SECRET_KEY is missing or the development default"),
        ({"secret_key": ""}, "HDAB_SECRET_KEY is missing"),
        ({"pseudonym_master_key": "short"}, "HDAB_PSEUDONYM_MASTER_KEY is shorter than 32"),
        ({"optout_hash_key": "s" * 40}, "must differ"),
        ({"audit_mac_key": DEV_AUDIT_MAC_KEY}, "HDAB_AUDIT_MAC_KEY is missing or the development default"),
        ({"audit_mac_key": ""}, "HDAB_AUDIT_MAC_KEY is missing"),
        ({"audit_mac_key": "a" * 31}, "HDAB_AUDIT_MAC_KEY is shorter than 32"),
        ({"audit_mac_key": "o" * 40}, "HDAB_AUDIT_MAC_KEY must differ"),
        ({"audit_mac_key": "s" * 40}, "must differ"),
        ({"reception_storage_key": "", "dev_idp": None}, "HDAB_RECEPTION_STORAGE_KEY is missing"),
        ({"reception_storage_key": "r" * 20}, "HDAB_RECEPTION_STORAGE_KEY is shorter than 32"),
        ({"reception_storage_key": "a" * 40}, "must differ"),
        ({"database_url": "sqlite:///var/hdab.db"}, "SQLite"),
        ({"dev_idp": True}, "HDAB_DEV_IDP is on"),
        ({"base_url": "http://hdab.example.no"}, "https://"),
    ],
)
def test_production_refuses_unsafe_settings(change: dict[str, object], complaint: str) -> None:
    settings = Settings(env="production", **{**STRONG, **change})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="refusing to start in production") as info:
        settings.ensure_startable()
    assert complaint in str(info.value)


def test_audit_checkpoint_file_defaults_under_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("HDAB_DATA_DIR", "/srv/hdab")
    assert load_settings().audit_checkpoint_file == Path("/srv/hdab/audit-checkpoints.jsonl")
    monkeypatch.setenv("HDAB_AUDIT_CHECKPOINT_FILE", "/worm/hdab-audit.jsonl")
    monkeypatch.setenv("HDAB_AUDIT_MAC_KEY", "k" * 40)
    settings = load_settings()
    assert settings.audit_checkpoint_file == Path("/worm/hdab-audit.jsonl")
    assert settings.audit_mac_key == "k" * 40


def test_production_never_enables_the_dev_identity_provider_by_default() -> None:
    assert not Settings(env="production", **STRONG).dev_idp_enabled
    assert not Settings(env="production", dev_idp=True, **STRONG).dev_idp_enabled


def _hdab(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_hdab(*args, env=clean_env(**env), cwd=cwd, timeout=60)


def test_cli_in_production_with_default_secret_exits_nonzero_with_one_line(tmp_path: Path) -> None:
    env = {
        "HDAB_ENV": "production",
        "HDAB_DATA_DIR": str(tmp_path),
        "HDAB_PSEUDONYM_MASTER_KEY": "p" * 40,
        "HDAB_OPTOUT_HASH_KEY": "o" * 40,
        "HDAB_AUDIT_MAC_KEY": "a" * 40,
        "HDAB_RECEPTION_STORAGE_KEY": "r" * 40,
        "HDAB_DATABASE_URL": "postgresql://hdab@127.0.0.1:1/hdab",
        "HDAB_BASE_URL": "https://hdab.example.no",
    }
    for command in (["serve"], ["audit", "verify"], ["db", "upgrade"]):
        result = _hdab(command, env, tmp_path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines == [
            "hdab: refusing to start in production: HDAB_SECRET_KEY is missing or the development default"
        ]


def test_cli_invalid_environment_name_is_refused(tmp_path: Path) -> None:
    result = _hdab(["audit", "verify"], {"HDAB_ENV": "prod", "HDAB_DATA_DIR": str(tmp_path)}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("hdab: invalid setting HDAB_ENV:")
