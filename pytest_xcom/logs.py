"""Task logs, captured as a worker writes them: structlog's JSON lines, kept with the task's result.

A task process logs through structlog configured to write one JSON object per line to its supervisor
(``configure_logging(json_output=True)``); the supervisor writes them to the task's log. While a task
runs here, structlog is configured with the same processors, writing into the try's buffer instead of
a console: nothing is rendered for a terminal (rendering was a fifth of a run), the lines land in
``TaskRunResult.logs``, and a failing test's report shows the failed tasks' logs (see
:func:`failure_report`). The configuration in place before is restored when no task is running.

Lines are kept as the JSON bytes the worker wrote and decoded when read; a result that is dropped takes
its logs with it, so a passing test keeps nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, overload

__all__ = ["LogLine", "TaskLogs", "captured", "failure_report"]


class LogLine(NamedTuple):
    """One line of a task's log: its level, its event (the message) and the other fields."""

    level: str
    event: str
    fields: dict[str, Any]

    def __str__(self) -> str:
        shown = {k: v for k, v in self.fields.items() if k not in ("timestamp", "logger", "exception")}
        text = " ".join([f"[{self.level}] {self.event}", *(f"{k}={v}" for k, v in shown.items())])
        for exc in self.fields.get("exception") or ():
            # The worker's structured traceback: shown as its exception line.
            if isinstance(exc, dict):
                text += f"\n    {exc.get('exc_type')}: {exc.get('exc_value')}"
        return text


class TaskLogs(Sequence[LogLine]):
    """A task's log lines, in the order written (like pytest's ``caplog``: ``.messages``, ``.text``)."""

    def __init__(self, raw: Iterable[bytes] = ()):
        self._raw = list(raw)
        self._lines: list[LogLine] | None = None

    def _decoded(self) -> list[LogLine]:
        if self._lines is None:
            self._lines = [_decode(line) for line in self._raw]
        return self._lines

    @overload
    def __getitem__(self, index: int) -> LogLine: ...
    @overload
    def __getitem__(self, index: slice) -> list[LogLine]: ...
    def __getitem__(self, index: int | slice) -> LogLine | list[LogLine]:
        return self._decoded()[index]

    def __len__(self) -> int:
        return len(self._raw)

    @property
    def messages(self) -> list[str]:
        """The events (messages) alone."""
        return [line.event for line in self._decoded()]

    @property
    def text(self) -> str:
        """The lines as text, one per line: ``[level] event key=value ...``."""
        return "\n".join(str(line) for line in self._decoded())

    def __repr__(self) -> str:
        return f"TaskLogs({len(self)} lines)"


def _decode(raw: bytes) -> LogLine:
    try:
        fields = json.loads(raw)
    except ValueError:
        return LogLine("info", raw.decode("utf-8", "replace").rstrip("\n"), {})
    if not isinstance(fields, dict):
        return LogLine("info", str(fields), {})
    return LogLine(str(fields.pop("level", "info")), str(fields.pop("event", "")), fields)


# -- capture ------------------------------------------------------------------------------------------

# structlog's configuration is the process's: one configuration serves every capture that is active,
# and each line goes to the buffer of the thread that wrote it (a thread a task started writes to the
# most recently started capture). The lock guards these and the configuration swap.
_lock = threading.RLock()
_buffers_by_thread: dict[int, list[list[bytes]]] = {}
_started: list[list[bytes]] = []
_saved: list[Any] = []  # (structlog config, root logger handler) while any capture is active


class _Sink:
    """The binary stream the worker's JSON lines are written to, routed to the writing thread's buffer."""

    def write(self, data: bytes) -> int:
        with _lock:
            own = _buffers_by_thread.get(threading.get_ident())
            buffer = own[-1] if own else (_started[-1] if _started else None)
        if buffer is not None:
            buffer.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


_SINK = _Sink()


class _StdlibHandler(logging.Handler):
    """A worker's stdlib ``logging`` records join its JSON lines (root handler of configure_logging)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = {"level": record.levelname.lower(), "event": record.getMessage(), "logger": record.name}
            if record.exc_info and record.exc_info[1] is not None:
                line["exception"] = repr(record.exc_info[1])
            _SINK.write(json.dumps(line, default=repr).encode() + b"\n")
        except Exception:  # pragma: no cover - as logging.Handler does
            self.handleError(record)


@functools.cache
def _worker_config() -> dict[str, Any]:
    from pytest_xcom import _compat

    return _compat.worker_log_config(_SINK)


@contextlib.contextmanager
def captured() -> Iterator[list[bytes]]:
    """Capture the logs of the task run in the block (its thread and the threads it starts)."""
    import structlog

    buffer: list[bytes] = []
    thread = threading.get_ident()
    with _lock:
        if not _started:
            handler = _StdlibHandler()
            _saved[:] = [structlog.get_config(), handler]
            structlog.configure(**_worker_config())
            logging.getLogger().addHandler(handler)
        _buffers_by_thread.setdefault(thread, []).append(buffer)
        _started.append(buffer)
    try:
        yield buffer
    finally:
        with _lock:
            _buffers_by_thread[thread].remove(buffer)
            if not _buffers_by_thread[thread]:
                del _buffers_by_thread[thread]
            _started.remove(buffer)
            if not _started:
                config, handler = _saved
                _saved.clear()
                logging.getLogger().removeHandler(handler)
                structlog.configure(**config)


# -- the failing test's report --------------------------------------------------------------------------


def failure_report(results: Iterable[Any]) -> str:
    """The runs a test made, for its failure report: each run's task states, and the failed tries'
    errors and logs."""
    parts = []
    for result in results:
        if hasattr(result, "task_states"):
            states = ", ".join(f"{_label(key)} {state}" for key, state in result.task_states.items())
            parts.append(f"run_dag {result.dag_id} ({result.run_id}): {result.state}")
            parts.append(f"  task states: {states}")
            failed = [r for r in result.tasks.values() if r.state in _FAILED]
        else:
            parts.append(f"run_task {_label((result.task_id, result.map_index))}: {result.state}")
            failed = [result] if result.state in _FAILED else []
        for task in failed:
            parts.append(_failed_task(task))
    return "\n".join(parts)


_FAILED = ("failed", "up_for_retry", "upstream_failed")


def _label(key: tuple[str, int]) -> str:
    task_id, map_index = key
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def _failed_task(result: Any) -> str:
    head = f"  {_label((result.task_id, result.map_index))} (try {result.try_number}) {result.state}"
    if result.error is not None:
        head += f": {type(result.error).__name__}: {result.error}"
    logs = getattr(result, "logs", None)
    if not logs:
        return head
    return head + "\n" + "\n".join(f"    {line}" for line in logs)
