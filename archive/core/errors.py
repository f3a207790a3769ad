"""The error hierarchy of the library.

Every error carries the process exit code it maps to (1 for a runtime problem, 2 for bad
input) and a message in Simplified Chinese that says what went wrong and what to do next.
``cli.py`` maps these to click in exactly one place; nothing under ``archive/`` prints.
"""

from __future__ import annotations


class ArchiveError(Exception):
    """Base class: a runtime problem (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.field and self.field not in text:
            text = f"{self.field}：{text}"
        if self.hint:
            text = f"{text}\n提示：{self.hint}"
        return text

    def to_dict(self) -> dict:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "field": self.field,
            "hint": self.hint,
            "exit_code": self.exit_code,
        }


class InputError(ArchiveError):
    """Bad input from the user: a field, a file or a code that does not validate (exit 2)."""

    exit_code = 2


class NotFoundError(InputError):
    """A case, item, notice, volume or loan named by the user does not exist (exit 2)."""


class StateError(InputError):
    """The action is not allowed in the object's current state, e.g. filing an open case."""


class RuleError(InputError):
    """A request that the configured rules refuse (lending rules, access rules)."""


class ConfigError(InputError):
    """The workspace configuration or a data file does not validate against its schema."""


class CalendarMissingError(InputError):
    """A working-day computation needs a year whose holiday data is not loaded."""

    def __init__(self, year: int):
        super().__init__(
            f"缺少 {year} 年的节假日安排数据，无法按工作日计算期限",
            field="calendar",
            hint=f"请先载入该年度国务院办公厅公布的放假安排：archive calendar load {year}.json",
        )
        self.year = year


class WorkspaceError(ArchiveError):
    """The workspace is missing or unusable (exit 1)."""


class ConversionError(ArchiveError):
    """Document conversion (DOCX to PDF) failed (exit 1)."""


class StoreError(ArchiveError):
    """The database refused or failed a statement (exit 1); the unit of work changed nothing."""


class ConflictError(StoreError):
    """Two writers collided (a deadlock or serialization failure on PostgreSQL). The unit of
    work rolled back; ``archive.core.session.retrying`` runs it again a few times (exit 1)."""
