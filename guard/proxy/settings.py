"""Configuration of `guard serve`: `GUARD_*` environment variables over an optional YAML file.

Precedence (highest first): keyword arguments, environment variables (`GUARD_UPSTREAM_BASE_URL`,
nested as JSON, e.g. `GUARD_API_KEYS='[{"name": "svc", "key": "…", "role": "caller"}]'`), the
YAML file named by `GUARD_CONFIG_FILE` (or `config_file=`), then the defaults below. Every
setting is documented in docs/operations.md; a test keeps that page honest.

`load_settings` turns every problem into one `ConfigError` line that names each setting at fault
and where its value came from (the environment variable, the settings file's `file:line`, the
command-line option), never the value: a key or a DSN must not end up in a log.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from guard.validation import describe_errors

__all__ = ["ApiKey", "ConfigError", "GuardSettings", "Role", "load_settings", "unknown_variables"]

_log = logging.getLogger(__name__)

# `GUARD_*` variables that are not settings but are read elsewhere (docs/operations.md).
OTHER_VARIABLES = frozenset(
    {
        "GUARD_NATIVE",  # guard.native: compiled check modules (auto | off | require)
        "GUARD_LEDGER_SYNC",  # guard.audit.ledger: full | normal
        "GUARD_LEDGER_WRITER",  # guard.audit.ledger: process | thread
        "GUARD_SERVE_WORKER_SETTINGS",  # guard.proxy.server: set by `guard serve --workers N` for its workers
        "GUARD_SHARED_DATA",  # bench/: where the public data sets are
    }
)
# Kubernetes gives every pod variables for each Service of its namespace ("service links"): a
# Service named `guard` sets GUARD_SERVICE_HOST, GUARD_SERVICE_PORT, GUARD_PORT=tcp://10.0.0.11:8080,
# GUARD_PORT_8080_TCP, ..._PROTO, ..._PORT, ..._ADDR; one named `guard-crm`, GUARD_CRM_SERVICE_HOST ...
_LINK_NAME = re.compile(r"[A-Z0-9_]+_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT_\d+_(?:TCP|UDP|SCTP)(?:_PROTO|_PORT|_ADDR)?)")
_LINK_VALUE = re.compile(r"(?:tcp|udp|sctp)://[^\s/]+:\d{1,5}")


class ConfigError(ValueError):
    """Configuration `guard serve` cannot start with: invalid settings, or a file or database a
    setting names that cannot be opened. The message is one line; it names the setting and where
    it came from, never its value."""

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
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise ConfigError(f"cannot read the settings file {self.path}: {exc.strerror or type(exc).__name__}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"invalid settings: {self.path}: the settings file is not UTF-8 text") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid settings: {_yaml_where(self.path, exc)}: not valid YAML ({_yaml_problem(exc)})") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ConfigError(f"invalid settings: {self.path}: the settings file must be a mapping of setting: value")
        return data


class _EnvWithoutServiceLink(PydanticBaseSettingsSource):
    """The environment variables, except a Kubernetes service link in GUARD_PORT.

    A Service named `guard` gives every pod started after it `GUARD_PORT=tcp://10.0.0.11:8080`:
    read as the port, it would stop the next rollout from starting ("port: Input should be a
    valid integer"). No one writes a port that way, so it is dropped, with a warning.
    """

    def __init__(self, settings_cls: type[BaseSettings], env: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        data = dict(self.env())
        port = data.get("port")
        if isinstance(port, str) and _LINK_VALUE.fullmatch(port.strip()):
            del data["port"]
            _log.warning(
                "GUARD_PORT holds a Kubernetes service link (tcp://…, from a Service named guard), not a "
                "port: ignored. The port is --port's, the settings file's or 8080; `enableServiceLinks: "
                "false` in the pod spec keeps these variables out"
            )
        return data


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """The `GUARD_*` variables of `environ` (default: this process's) that nothing reads: a
    misspelt setting (`GUARD_POLICY_PTH`), which would otherwise be ignored while the default
    serves. Kubernetes service links (`GUARD_CRM_SERVICE_HOST`, `GUARD_CRM_PORT=tcp://…`) are not
    counted."""
    env = os.environ if environ is None else environ
    known = _known_variables()
    unknown = []
    for name, value in env.items():
        upper = name.upper()
        if not upper.startswith("GUARD_") or upper in known or _LINK_NAME.fullmatch(upper):
            continue
        if upper.endswith("_PORT") and _LINK_VALUE.fullmatch(value.strip()):
            continue
        unknown.append(name)
    return sorted(unknown)


def _known_variables() -> frozenset[str]:
    return frozenset(f"GUARD_{name.upper()}" for name in GuardSettings.model_fields) | OTHER_VARIABLES


def _unknown_variable(name: str) -> str:
    """`GUARD_X: unknown setting`, with the likeliest intended name when one is close."""
    close = difflib.get_close_matches(name.upper(), sorted(_known_variables()), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{name}: unknown setting{hint}; docs/operations.md lists them"


def _yaml_where(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    if not isinstance(problem, str) or not problem:
        return "syntax error"
    if "tag" in problem:  # a tag's name is text of the file (after `!`, it may be a value): not echoed
        return "a tag (!…) that is not allowed here"
    context, mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if isinstance(context, str) and mark is not None and "tag" not in context:
        return f"{problem}, {context} at line {mark.line + 1}"  # e.g. where an unclosed [ was opened
    return problem


def _yaml_line(path: Path, loc: tuple[int | str, ...]) -> int | None:
    """The line of the settings file that holds `loc` (as deep as the file has it), else None."""
    try:
        node: yaml.Node | None = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _http_url(value: str | None) -> str | None:
    """`value` when it is an http(s) URL with a host (the message never quotes the value)."""
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000/v1")
    return value


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

    @field_validator("upstream_base_url", "crm_http_url")
    @classmethod
    def check_urls(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Checked at start: a URL without its scheme would start, and then fail every call (502)."""
        if info.field_name == "crm_http_url" and not value:
            return value  # unset (an empty variable too): refused at start only with crm_source http
        return _http_url(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            _EnvWithoutServiceLink(settings_cls, env_settings),
            _YamlFileSource(settings_cls, _config_path(init_settings())),
        )


def _config_path(init: Mapping[str, Any]) -> Path | None:
    raw = init.get("config_file") or os.environ.get("GUARD_CONFIG_FILE")
    return Path(raw) if raw else None


def load_settings(
    config_file: str | Path | None = None, *, option_names: Mapping[str, str] | None = None, **overrides: Any
) -> GuardSettings:
    """Settings from the environment and `config_file` (or `GUARD_CONFIG_FILE`), then `overrides`.

    Raises `ConfigError` (one line, no values); `option_names` names the command-line option that
    gave each override (`{"port": "--port"}`) in that message.
    """
    if config_file is not None:
        overrides["config_file"] = Path(config_file)
    unknown = unknown_variables()
    if unknown:
        raise ConfigError("invalid settings: " + "; ".join(_unknown_variable(name) for name in unknown))
    try:
        return GuardSettings(**overrides)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        described = "; ".join(_describe(err, overrides, option_names or {}) for err in errors)
        raise ConfigError(f"invalid settings: {described}") from None
    except _SourceError as exc:
        raise ConfigError(f"invalid settings: {_describe_source_error(exc)}") from None


_JSON_EXAMPLES = {
    "api_keys": 'a JSON list, e.g. [{"name": "svc", "key": "…", "role": "caller"}]',
    "model_map": 'a JSON object, e.g. {"guarded": "qwen2.5-7b-instruct"}',
}


def _env_name(field: str) -> str | None:
    """The environment variable that set `field`, as it is spelled there (names are case-blind)."""
    want = f"guard_{field}"
    return next((name for name in os.environ if name.lower() == want), None)


def _describe(err: ErrorDetails, overrides: Mapping[str, Any], option_names: Mapping[str, str]) -> str:
    """`origin: setting.path: reason` for one error; the origin is where the setting's value came from."""
    loc = err["loc"]
    field = str(loc[0]) if loc else ""
    if err["type"] == "extra_forbidden" and len(loc) == 1:
        text = f"{field}: unknown setting (docs/operations.md lists them)"
    else:
        text = describe_errors([err]).replace(": Value error, ", ": ", 1)
        text = text.replace("Input should be a valid tuple", "Input should be a list")  # the JSON/YAML word
    origin: str | None = None
    if field in overrides:
        origin = option_names.get(field, f"argument {field}")
    elif (env := _env_name(field)) is not None:
        origin = env
    elif (path := _config_path(overrides)) is not None and (line := _yaml_line(path, loc)) is not None:
        origin = f"{path}:{line}"
    return f"{origin}: {text}" if origin else text


def _describe_source_error(exc: _SourceError) -> str:
    """pydantic-settings' error for an environment variable it could not parse (JSON, for a list
    or mapping setting), as which variable and what it must hold."""
    found = re.search(r'field "(\w+)"', str(exc))
    field = found.group(1) if found else None
    if field is None:
        return "an environment variable GUARD_… could not be read"
    env = _env_name(field) or f"GUARD_{field.upper()}"
    cause = exc.__cause__
    where = f": {cause.msg} at line {cause.lineno} column {cause.colno}" if isinstance(cause, json.JSONDecodeError) else ""
    return f"{env} must hold {_JSON_EXAMPLES.get(field, 'JSON')}{where}"
