"""Policy errors that point a risk officer at the file, line and field to fix."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PolicyError", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a policy file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class PolicyError(Exception):
    """A policy (or policy set) could not be loaded; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
