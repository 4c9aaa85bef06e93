"""The check protocol: what every check is given, what it returns, how it is configured.

A check is built once when its policy loads (automata, tables, compiled patterns) and then runs
on every reply. It never mutates the reply: it returns findings with spans in the original text,
each carrying the action its configuration assigns; the engine decides and builds the release.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from guard.text.sentences import Sentence
from guard.types import CustomerRecord, Finding

__all__ = ["Check", "CheckConfig", "CheckInput", "CheckSpec", "ConfigError", "PolicyContext"]


class CheckConfig(BaseModel):
    """Base of every check's typed configuration: unknown keys are errors (typos must not pass)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class CheckInput:
    """What a check sees: the reply, its sentences (split once by the engine) and the record."""

    reply: str
    record: CustomerRecord
    sentences: Sequence[Sentence]


class Check(Protocol):
    """One check, built from its config; `run` is pure and must not raise on any text."""

    name: ClassVar[str]

    def run(self, inp: CheckInput) -> list[Finding]: ...


class ConfigError(Exception):
    """A check's configuration is wrong in a way its schema cannot express.

    `field` is the path inside the check's config (e.g. ("files", 0)) so the policy loader can
    point at the file and line.
    """

    def __init__(self, message: str, field: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class PolicyContext:
    """What a check may use while it is built: the policy's folder and a recorder of read files.

    Every file read through `read_text` becomes part of the policy's version hash.
    """

    base_dir: Path
    files: dict[str, bytes] = field(default_factory=dict)
    # How files are found and read: the loader passes its snapshot's (`guard.policy.snapshot`).
    resolve: Callable[[Path], Path] = Path.resolve
    read_bytes: Callable[[Path], bytes] = Path.read_bytes

    def read_text(self, relpath: str, field_path: tuple[str | int, ...] = ()) -> str:
        path = self.resolve(self.base_dir / relpath)
        try:
            data = self.read_bytes(path)
        except FileNotFoundError:
            raise ConfigError(f"file not found: {relpath} (looked in {self.base_dir})", field_path) from None
        except OSError as exc:
            raise ConfigError(f"cannot read {relpath}: {exc.strerror}", field_path) from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{relpath} is not UTF-8 (byte {exc.start})", field_path) from None
        self.files[relpath] = data
        return text


C = TypeVar("C", bound=CheckConfig)


@dataclass(frozen=True, slots=True)
class CheckSpec(Generic[C]):
    """A registry entry: the check's policy key, its config model and how to build it."""

    name: str
    config: type[C]
    build: Callable[[C, PolicyContext], Check]
    summary: str = ""

    def build_from(self, raw: Any, ctx: PolicyContext) -> Check:
        cfg = self.config.model_validate({} if raw is None else raw)
        return self.build(cfg, ctx)
