"""Errors raised by dedup; every one of them is a user-facing message.

DedupError                  base class; the CLI turns it into exit code 2
├── InputError              an input cannot be read or parsed (names the file, and line)
├── OutputError             an output cannot be written, or would overwrite an input
├── ConfigError             an option or configuration value is invalid
└── WorkerError             a worker process died (exit code 3)
"""

from __future__ import annotations


class DedupError(Exception):
    """Base class of every error dedup raises on purpose."""


class InputError(DedupError):
    """An input file, folder or JSONL record cannot be read."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str, int | None]]:
        """Raised in a worker process, it reaches the main one whole."""
        return InputError, (self.path, self.message, self.line)


class OutputError(DedupError):
    """An output cannot be written where it was asked for."""


class ConfigError(DedupError):
    """An option or configuration value is invalid."""


class WorkerError(DedupError):
    """A worker process ended without finishing its batch (killed, out of memory)."""
