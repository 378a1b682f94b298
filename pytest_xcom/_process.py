"""Undoing what a worker process changes for itself, since here every task shares the test's process.

A worker exits after its task; in a test the task runner's changes to process-wide state (it exports
``AIRFLOW_CTX_*`` variables and installs a SIGTERM handler) would otherwise reach the next task or test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

__all__ = ["restored_environ", "worker_globals_restored"]


@contextlib.contextmanager
def restored_environ() -> Iterator[None]:
    """Undo every change to os.environ made in the block."""
    # Compared as os.environ's raw (encoded) mapping: copying it is several times cheaper than decoding
    # every variable, and this runs around every task.
    raw = os.environ._data  # type: ignore[attr-defined]
    saved = dict(raw)
    try:
        yield
    finally:
        if raw != saved:
            decode = os.environ.decodekey  # type: ignore[attr-defined]
            for name in set(raw) - set(saved):
                del os.environ[decode(name)]
            for name, value in saved.items():
                if raw.get(name) != value:
                    os.environ[decode(name)] = os.environ.decodevalue(value)  # type: ignore[attr-defined]


@contextlib.contextmanager
def worker_globals_restored() -> Iterator[None]:
    """Undo what running a task changes: os.environ and the SIGTERM handler."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if on_main_thread else None
    try:
        with restored_environ():
            yield
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)
