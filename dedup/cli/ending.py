"""A run stopped part-way: by Ctrl-C, or by a signal that asks the process to end
(SIGTERM, SIGHUP), each unwound alike, to an exit code of 128 and the signal's number as
shells report it.  Unwound, a run places its outputs whole or not at all, stops its
workers and removes its temporary files (the copy of the corpus's texts among them)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import click


class Interrupted(click.ClickException):
    """Ctrl-C: exit code 130, as shells report a SIGINT."""

    exit_code = 130


class Terminated(click.ClickException):
    """SIGTERM: exit code 143."""

    exit_code = 143


class HungUp(click.ClickException):
    """SIGHUP: exit code 129."""

    exit_code = 129


class _Ended(BaseException):
    """A signal that asks the process to end, raised where the run is, as Ctrl-C raises
    KeyboardInterrupt (no `except Exception` stops it)."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


#: The signals that end a run as Ctrl-C does, and how: timeout(1), systemd and CI
#: runners send SIGTERM, a closed terminal SIGHUP.  Left at their default, they ended the
#: process where it stood, its copy of the texts left in TMPDIR (the corpus's size again
#: at every run so ended).
ENDING = {
    getattr(signal, name): error
    for name, error in (("SIGTERM", Terminated), ("SIGHUP", HungUp))
    if hasattr(signal, name)
}

#: What a run stopped part-way leaves.
_WHOLE = "every output written so far is complete, none is half-written"


@contextlib.contextmanager
def stopping() -> Iterator[None]:
    """A command run in this block stops on Ctrl-C or on ENDING's signals with the
    ClickException that says so.  The signals are taken only where they are at their
    default, in the main thread (a program that runs the command may handle them)."""
    taken = []
    if threading.current_thread() is threading.main_thread():
        taken = [s for s in ENDING if signal.getsignal(s) is signal.SIG_DFL]
    for number in taken:
        signal.signal(number, _end)
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; {_WHOLE}") from None
    except _Ended as ended:
        name = signal.Signals(ended.signal_number).name
        raise ENDING[ended.signal_number](f"stopped by {name}; {_WHOLE}") from None
    finally:
        for number in taken:
            signal.signal(number, signal.SIG_DFL)


def _end(signal_number: int, frame: object) -> None:
    signal.signal(signal_number, signal.SIG_DFL)  # a second one ends the process at once
    raise _Ended(signal_number)
