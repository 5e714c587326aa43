"""Settings: one object, read from ``HDAB_*`` environment variables, for the server and every CLI command."""

from __future__ import annotations

import enum
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

# Development defaults. They make the embedded default run with no set-up; production refuses every
# one of them (see Settings.production_problems).
DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"  # noqa: S105
DEV_PSEUDONYM_MASTER_KEY = "dev-only-pseudonym-master-key-not-for-production"
DEV_OPTOUT_HASH_KEY = "dev-only-optout-hash-key-not-for-production"
DEV_AUDIT_MAC_KEY = "dev-only-audit-mac-key-not-for-production"
DEV_RECEPTION_STORAGE_KEY = "dev-only-reception-storage-key-not-for-production"
MIN_KEY_LENGTH = 32


class Environment(enum.StrEnum):
    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(Exception):
    """The settings do not allow the service to start. The message is one line for the operator."""


ROLE_NAMES = (
    "applicant",
    "caseworker",
    "decision_maker",
    "data_holder",
    "admin",
    "citizen",
    "recipient",
    "submitter",
)


class ClaimMapping(BaseModel):
    """How one provider's claims become roles, organisation and identity (values are claim names)."""

    model_config = {"frozen": True, "extra": "forbid"}

    roles_claim: str = Field("roles", description="claim holding role names or group values")
    role_values: dict[str, str] = Field(
        default_factory=dict,
        description="claim value -> hdab role; a value that is a role name maps to itself",
    )
    default_roles: list[str] = Field(default_factory=list, description="roles everyone signed in here gets")
    organisation_claim: str = Field("org", description="claim holding the organisation number")
    national_id_claim: str = Field("pid", description="claim holding the person number")
    name_claim: str = "name"
    email_claim: str = "email"


class OidcProvider(BaseModel):
    """An OpenID Connect provider people sign in with (HelseID, ID-porten, Feide, ...)."""

    model_config = {"frozen": True, "extra": "forbid"}

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="used in /auth/{name}/login")
    title: str = Field(min_length=1, description="shown on the sign-in page")
    issuer: str = Field(
        pattern=r"^https?://", description="discovery at {issuer}/.well-known/openid-configuration"
    )
    client_id: str = Field(min_length=1)
    client_secret: str = Field("", description="client_secret_basic; empty when client_key_file is set")
    client_key_file: Path | None = Field(None, description="private JWK (JSON): private_key_jwt (RFC 7523)")
    scope: str = "openid profile email"
    mapping: ClaimMapping = Field(default_factory=ClaimMapping)

    @model_validator(mode="after")
    def _one_credential(self) -> OidcProvider:
        if bool(self.client_secret) == (self.client_key_file is not None):
            raise ValueError(f"provider {self.name}: set exactly one of client_secret and client_key_file")
        if self.client_key_file is not None and not self.client_key_file.is_file():
            raise ValueError(f"provider {self.name}: client_key_file {self.client_key_file} is not a file")
        for role in [*self.mapping.default_roles, *self.mapping.role_values.values()]:
            if role not in ROLE_NAMES:
                raise ValueError(f"provider {self.name}: unknown role {role!r}")
        return self


class ApiIssuer(BaseModel):
    """An authorisation server whose access tokens the API accepts (machines: HelseID, Maskinporten)."""

    model_config = {"frozen": True, "extra": "forbid"}

    issuer: str = Field(pattern=r"^https?://")
    audience: str = Field("hdab", description="the aud the tokens must carry")
    jwks_uri: str = Field("", description="default: from {issuer}/.well-known/openid-configuration")
    scope_roles: dict[str, str] = Field(default_factory=dict, description="scope -> hdab role")
    organisation_claim: str = Field("org", description="claim holding the client's organisation number")
    require_dpop: bool = Field(False, description="refuse tokens that are not DPoP-bound")

    @model_validator(mode="after")
    def _known_roles(self) -> ApiIssuer:
        for role in self.scope_roles.values():
            if role not in ROLE_NAMES:
                raise ValueError(f"issuer {self.issuer}: unknown role {role!r}")
        return self


class Settings(BaseSettings):
    """Every setting of hdab. Each field ``x`` is read from the environment variable ``HDAB_X``."""

    model_config = SettingsConfigDict(env_prefix="HDAB_", extra="ignore", frozen=True)

    env: Environment = Field(Environment.DEV, description="dev, test or production")
    data_dir: Path = Field(
        Path("var"), description="where the embedded database, dev keys and deliveries live"
    )
    database_url: str = Field("", description="SQLAlchemy URL; default sqlite:///{HDAB_DATA_DIR}/hdab.db")
    broker_url: str = Field(
        "",
        description="Celery broker (Redis), e.g. redis://127.0.0.1:6379/0; empty: tasks run in-process",
    )
    search_url: str = Field("", description="OpenSearch URL; empty: search runs on the database")
    base_url: str = Field(
        "", description="public base of every URI the catalogue mints; default http://{HDAB_HOST}:{HDAB_PORT}"
    )
    secret_key: str = Field(DEV_SECRET_KEY, description="signs sessions and keys audit hashes")
    pseudonym_master_key: str = Field(
        DEV_PSEUDONYM_MASTER_KEY,
        description="master secret from which per-permit pseudonym keys derive",
    )
    optout_hash_key: str = Field(
        DEV_OPTOUT_HASH_KEY, description="key of the keyed hash under which opt-outs are stored"
    )
    audit_mac_key: str = Field(
        DEV_AUDIT_MAC_KEY,
        description="key of the HMAC-SHA-256 chaining the audit log and signing its checkpoints",
    )
    audit_checkpoint_file: Path | None = Field(
        None,
        description="where `hdab audit checkpoint` appends the signed chain head, outside the database;"
        " default {HDAB_DATA_DIR}/audit-checkpoints.jsonl",
    )
    reference_dir: Path | None = Field(
        None,
        description="a folder of the official shapes and vocabularies laid out like HDAB_SHAPES_DIR;"
        " outside production the service falls back to it when HDAB_SHAPES_DIR is empty (unset: none)",
    )
    shapes_dir: Path | None = Field(
        None,
        description="official SHACL shapes and vocabularies (hdab catalog fetch-shapes fills it);"
        " default {HDAB_DATA_DIR}/shapes",
    )
    import_max_bytes: int = Field(20 * 1024 * 1024, ge=1, description="largest RDF upload accepted")
    import_max_triples: int = Field(500_000, ge=1, description="most triples one RDF upload may hold")
    search_cache_size: int = Field(
        1024, ge=0, description="embedded search: answers kept per index generation (0: none)"
    )
    host: str = Field("127.0.0.1", description="address `hdab serve` listens on")
    port: int = Field(8000, ge=1, le=65535, description="port `hdab serve` listens on")
    dev_idp: bool | None = Field(
        None,
        description="the development identity provider; default on in dev and test, off in production,"
        " where turning it on is refused",
    )
    clock_file: Path | None = Field(
        None,
        description="tests only: a shared clock file read by every process (ignored in production)",
    )
    log_level: str = Field("INFO", description="Python logging level")
    permit_signing_key_file: Path | None = Field(
        None,
        description="JWK set (JSON) whose first key signs permits and the rest stay published for"
        " verification; default {HDAB_DATA_DIR}/permit-signing/keys.json, created on first use",
    )
    smtp_url: str = Field(
        "",
        description="where notification mail goes, smtp://[user:password@]host:port (smtps:// for TLS);"
        " empty: notifications are shown in the app only",
    )
    mail_from: str = Field("hdab@localhost", description="the From address of notification mail")
    registry_dir: Path | None = Field(
        None, description="the registries' source tables (Parquet); default {HDAB_DATA_DIR}/registry"
    )
    spe_root: Path | None = Field(
        None, description="the secure analysis room deliveries go into; default {HDAB_DATA_DIR}/spe"
    )
    reception_key_file: Path | None = Field(
        None,
        description="the receiver's RSA key set that senders wrap message keys under (JSON, mode 0600);"
        " default {HDAB_DATA_DIR}/reception-keys/keys.json, made on first use outside production;"
        " `hdab reception rotate-keys` adds a key",
    )
    reception_storage_key: str = Field(
        DEV_RECEPTION_STORAGE_KEY,
        description="secret from which the key that received messages are stored under derives",
    )
    reception_key_days: int = Field(365, ge=1, le=3650, description="how long a new receiver key is valid")
    registry_organisation: str = Field(
        "983744516",
        pattern=r"^[0-9]{9}$",
        description="organisation number of the registry owner whose data holders run reception (FHI)",
    )
    min_k: int = Field(
        5, ge=2, le=100, description="smallest group size released: k-anonymity and table cells"
    )

    oidc_providers: list[OidcProvider] = Field(
        default_factory=list, description="OpenID Connect providers for people, as a JSON list"
    )
    api_issuers: list[ApiIssuer] = Field(
        default_factory=list, description="issuers of machine access tokens the API accepts, as a JSON list"
    )
    session_hours: float = Field(8, gt=0, le=24, description="how long a sign-in lasts")
    rate_limit_url: str = Field(
        "", description="Redis URL shared by every server process for rate limits; empty: per process"
    )
    rate_limit_signin: int = Field(20, ge=1, description="sign-in attempts per minute per client address")
    rate_limit_import: int = Field(10, ge=1, description="imports per minute per client address")
    rate_limit_token_failures: int = Field(
        30, ge=1, description="requests with an invalid token per minute per client address"
    )

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir}/hdab.db")
        if self.shapes_dir is None:
            object.__setattr__(self, "shapes_dir", self.data_dir / "shapes")
        if self.audit_checkpoint_file is None:
            object.__setattr__(self, "audit_checkpoint_file", self.data_dir / "audit-checkpoints.jsonl")
        if self.registry_dir is None:
            object.__setattr__(self, "registry_dir", self.data_dir / "registry")
        if self.spe_root is None:
            object.__setattr__(self, "spe_root", self.data_dir / "spe")
        if self.reception_key_file is None:
            object.__setattr__(self, "reception_key_file", self.data_dir / "reception-keys" / "keys.json")
        if self.permit_signing_key_file is None:
            object.__setattr__(
                self, "permit_signing_key_file", self.data_dir / "permit-signing" / "keys.json"
            )
        base_url = self.base_url or f"http://{self.host}:{self.port}"
        object.__setattr__(self, "base_url", base_url.rstrip("/"))
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def serves_https(self) -> bool:
        """Served over HTTPS (required in production): cookies are Secure, HSTS is sent."""
        return self.base_url.startswith("https://")

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def dev_idp_enabled(self) -> bool:
        return (not self.is_production) if self.dev_idp is None else (self.dev_idp and not self.is_production)

    def production_problems(self) -> list[str]:
        """What forbids starting in production; empty when nothing does."""
        if not self.is_production:
            return []
        problems: list[str] = []
        for name, value, default in (
            ("HDAB_SECRET_KEY", self.secret_key, DEV_SECRET_KEY),
            ("HDAB_PSEUDONYM_MASTER_KEY", self.pseudonym_master_key, DEV_PSEUDONYM_MASTER_KEY),
            ("HDAB_OPTOUT_HASH_KEY", self.optout_hash_key, DEV_OPTOUT_HASH_KEY),
            ("HDAB_AUDIT_MAC_KEY", self.audit_mac_key, DEV_AUDIT_MAC_KEY),
            ("HDAB_RECEPTION_STORAGE_KEY", self.reception_storage_key, DEV_RECEPTION_STORAGE_KEY),
        ):
            if not value or value == default:
                problems.append(f"{name} is missing or the development default")
            elif len(value) < MIN_KEY_LENGTH:
                problems.append(f"{name} is shorter than {MIN_KEY_LENGTH} characters")
        keys = [
            self.secret_key,
            self.pseudonym_master_key,
            self.optout_hash_key,
            self.audit_mac_key,
            self.reception_storage_key,
        ]
        if len(set(keys)) != len(keys) and all(keys):
            problems.append(
                "HDAB_SECRET_KEY, HDAB_PSEUDONYM_MASTER_KEY, HDAB_OPTOUT_HASH_KEY, HDAB_RECEPTION_STORAGE_KEY"
                " and HDAB_AUDIT_MAC_KEY must differ"
            )
        if self.uses_sqlite:
            problems.append("HDAB_DATABASE_URL is SQLite; production needs PostgreSQL")
        if self.dev_idp:
            problems.append(
                "HDAB_DEV_IDP is on: the development identity provider is never allowed in production"
            )
        if not self.serves_https:
            problems.append("HDAB_BASE_URL must be https:// in production")
        return problems

    def ensure_startable(self) -> None:
        problems = self.production_problems()
        if problems:
            raise ConfigurationError("refusing to start in production: " + "; ".join(problems))


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment; a bad value is a one-line ConfigurationError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigurationError(f"invalid setting HDAB_{field.upper()}: {first['msg']}") from None
    except SettingsError as exc:  # a list or object setting that is not JSON
        named = re.search(r'field "(\w+)"', str(exc))
        field = named.group(1).upper() if named else "SETTINGS"
        raise ConfigurationError(
            f"invalid setting HDAB_{field}: it must be JSON (a list of objects)"
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (cached; tests install their own with runtime.configure)."""
    return load_settings()
