"""Configuration of `guard serve`: `GUARD_*` environment variables over an optional YAML file.

Precedence (highest first): keyword arguments, environment variables (`GUARD_UPSTREAM_BASE_URL`,
nested as JSON, e.g. `GUARD_API_KEYS='[{"name": "svc", "key": "…", "role": "caller"}]'`), the
YAML file named by `GUARD_CONFIG_FILE` (or `config_file=`), then the defaults below. Every
setting is documented in docs/operations.md; a test keeps that page honest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = ["ApiKey", "GuardSettings", "Role", "load_settings"]

Role = Literal["caller", "auditor", "admin"]


class ApiKey(BaseModel):
    """One API key: who holds it (`name`, recorded in the audit trail) and its role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    key: SecretStr
    role: Role = "caller"


class _YamlFileSource(PydanticBaseSettingsSource):
    """Reads the settings file (YAML mapping); unknown keys are errors, like everywhere else."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        data = yaml.safe_load(self.path.read_text(encoding="utf-8-sig"))
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: the settings file must be a mapping of setting: value")
        return data


class GuardSettings(BaseSettings):
    """Every setting of the guard proxy (see docs/operations.md)."""

    model_config = SettingsConfigDict(env_prefix="GUARD_", extra="forbid", frozen=True)

    # Listening
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)  # serving processes of `guard serve` on the one port
    huge_pages: bool = True  # back the start-up heap with 2 MiB pages (Linux 6.1+; guard.proxy.hugepages)

    # Upstream (any OpenAI-compatible endpoint)
    upstream_base_url: str = "http://127.0.0.1:8000/v1"
    upstream_api_key: SecretStr | None = None
    model_map: dict[str, str] = Field(default_factory=dict)
    upstream_connect_timeout: float = Field(default=3.0, gt=0)
    upstream_read_timeout: float = Field(default=30.0, gt=0)
    upstream_retries: int = Field(default=2, ge=0, le=10)
    upstream_max_connections: int = Field(default=200, ge=1)
    max_reply_chars: int = Field(default=20_000, ge=100)  # longer replies fail closed

    # Policies
    policy_path: str | None = None
    policy_watch: bool = True  # hot-reload the policy folder on change (an invalid edit never replaces a valid set)
    policy_polling: bool = False  # watch by polling (network file systems) instead of inotify

    # Audit
    audit_enabled: bool = True  # false: no ledger, no traces (local trials only: nothing is provable)
    ledger: str | None = None  # SQLite path or postgresql:// DSN; default var/guard-ledger.db

    # Auth
    api_keys: tuple[ApiKey, ...] = ()
    auth_enabled: bool = True

    # Requests
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    stream_max_sentence_chars: int = Field(default=1000, ge=10)

    # CRM
    crm_source: Literal["sqlite", "http", "none"] = "sqlite"
    crm_sqlite_path: str = "var/crm.db"
    crm_http_url: str | None = None
    crm_http_api_key: SecretStr | None = None
    crm_http_timeout: float = Field(default=2.0, gt=0)
    crm_cache_ttl: float = Field(default=30.0, ge=0)
    crm_cache_size: int = Field(default=10_000, ge=0)

    config_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init = init_settings()
        raw = init.get("config_file") or os.environ.get("GUARD_CONFIG_FILE")
        path = Path(raw) if raw else None
        return (init_settings, env_settings, _YamlFileSource(settings_cls, path))


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> GuardSettings:
    """Settings from the environment and `config_file` (or `GUARD_CONFIG_FILE`), then `overrides`."""
    if config_file is not None:
        overrides["config_file"] = Path(config_file)
    return GuardSettings(**overrides)
