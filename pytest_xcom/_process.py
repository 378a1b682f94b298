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
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


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
