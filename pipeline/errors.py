"""The project's exception types.

Every error a user can cause names the file (and the row and column where they
apply) and says what to do about it. The Snakemake adapter prints these without
a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Problem:
    """One thing wrong with one input, located as precisely as possible."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = str(self.file)
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" — {self.hint}"
        return text


class PipelineError(Exception):
    """An input or configuration problem the user can fix.

    Parameters
    ----------
    message : str
        What is wrong.
    file : str or Path, optional
        The file at fault.
    row, column : optional
        Where in the file (1-based row as a spreadsheet shows it; column header).
    hint : str, optional
        What to do about it.
    problems : list of Problem, optional
        Several problems reported together (for example every unresolved file).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str = "",
        problems: list[Problem] | None = None,
    ):
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.hint = hint
        self.problems = list(problems or [])
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        if self.file is not None:
            head = str(Problem(self.file, self.message, self.row, self.column, self.hint))
        else:
            head = self.message + (f" — {self.hint}" if self.hint else "")
        if not self.problems:
            return head
        lines = [head] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class InputError(PipelineError):
    """A fieldwork, register, codebook or review file cannot be used as it is."""


class ConfigError(PipelineError):
    """The configuration is invalid."""


@dataclass
class ProblemCollector:
    """Collects problems across many files so that one error lists them all."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, file, message, row=None, column=None, hint="") -> None:
        self.problems.append(Problem(str(file), message, row, column, hint))

    def extend(self, error: PipelineError) -> None:
        if error.problems:
            self.problems.extend(error.problems)
        else:
            self.add(error.file or "", error.message, error.row, error.column, error.hint)

    def raise_if_any(self, summary: str, hint: str = "") -> None:
        if self.problems:
            raise InputError(summary, hint=hint, problems=self.problems)

    def __bool__(self) -> bool:
        return bool(self.problems)
