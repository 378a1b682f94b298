"""The supervisor's end of a task's sockets, for operators that run their callable in a Python child.

``ExternalPythonOperator``, ``PythonVirtualenvOperator``, their branch variants and ``@task.external_python``
/ ``@task.virtualenv`` start a second Python process whose script calls the task SDK's
``reinit_supervisor_comms()``: it opens the socket whose number is in ``__AIRFLOW_SUPERVISOR_FD``, asks
for a logs socket (``ResendLoggingFD``, answered with a file descriptor passed over the socket) and then
reads Variables, Connections and XComs through it. A worker's supervisor owns both sockets and answers
on them. (dag.test() makes such a pair around every task but, in Airflow 3.1 to 3.3, answers the child's
requests on its in-process channel instead of the socket: a child that asks for anything but its logs
socket waits there for ever. Airflow 3.0's child script does not reconnect at all.)

Here the pair is made only around a task of one of those operators (a socket pair and a thread cost more
than a small in-process task), and a thread answers each request frame through the same in-memory API
server the in-process task talks to (``InMemorySupervisorComms._serve``). The child's log lines are
handed to the task's logger, as the supervisor hands them to the task's log.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import selectors
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from pytest_xcom import _compat

__all__ = ["SupervisorSockets", "child_sockets", "spawns_python_child"]

FD_VARIABLE = "__AIRFLOW_SUPERVISOR_FD"
_PYTHON_OPERATORS_MODULE = "airflow.providers.standard.operators.python"

# Every wait is bounded: the serving thread wakes at least this often, a response that the child does
# not read within this time is dropped, and closing waits this long for the thread to finish.
_POLL_SECONDS = 1.0
_SEND_TIMEOUT_SECONDS = 30.0
_JOIN_TIMEOUT_SECONDS = 10.0
# Passes over the sockets after the task has ended, to read what the child wrote before it exited.
_DRAIN_PASSES = 64
_READ_SIZE = 65536

_REQUEST_DECODER = _compat.request_decoder()


def spawns_python_child(task: Any) -> bool:
    """Whether ``task`` runs its callable in a Python child that connects back to the supervisor."""
    # A mapped task is still a MappedOperator when its attempt starts; its class says what it unmaps to.
    cls = task.operator_class if getattr(task, "is_mapped", False) else type(task)
    return _class_spawns_python_child(cls)


@functools.lru_cache(maxsize=1024)
def _class_spawns_python_child(cls: Any) -> bool:
    # A class's bases never change, so the answer is cached per class: this runs before every task, and
    # an ABC subclass check costs microseconds.
    module = sys.modules.get(_PYTHON_OPERATORS_MODULE)
    if module is None:
        return False  # the standard provider's operators are not imported: no class can derive from them
    base = getattr(module, "_BasePythonVirtualenvOperator", None)
    if base is None or not (isinstance(cls, type) and issubclass(cls, base)):
        return False
    # The child's script connects only where the task SDK can: the same check the script makes.
    return callable(getattr(_compat.task_runner, "reinit_supervisor_comms", None))


_NO_SOCKETS = contextlib.nullcontext()


def child_sockets(task: Any) -> contextlib.AbstractContextManager[SupervisorSockets | None]:
    """What to enter around an attempt of ``task``: its supervisor sockets if it runs a Python child.

    The :class:`SupervisorSockets` serve the installed comms channel; they are closed and their thread
    joined when the block ends, also when it raises. For any other task this is a no-op.
    """
    if not spawns_python_child(task):
        return _NO_SOCKETS
    serve = getattr(_compat.get_supervisor_comms(), "_serve", None)
    if serve is None:  # not our channel: the child finds no supervisor, as outside a worker
        return _NO_SOCKETS
    import structlog

    return SupervisorSockets(serve, structlog.get_logger(logger_name="task"))


class SupervisorSockets:
    """A request socket pair served by a thread, and the logs sockets the child asks for.

    ``serve`` turns a decoded request frame into a response frame; ``logger`` receives the child's log
    lines. As a context manager it publishes the child's end in ``__AIRFLOW_SUPERVISOR_FD`` (inheritable,
    as the supervisor makes it) and takes it back afterwards.
    """

    def __init__(self, serve: Callable[[Any], Any], logger: Any):
        self._serve = serve
        self._logger = logger
        self._request_buffer = bytearray()
        self._log_sockets: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pytest_xcom-supervisor", daemon=True)
        self.error: BaseException | None = None
        """What stopped the serving thread, if anything did."""
        self._previous_fd: str | None = None
        self._published = False

    def __enter__(self) -> SupervisorSockets:
        # Opened here, not in __init__, so that nothing is left open by an instance never entered.
        self._selector = selectors.DefaultSelector()
        self._requests, self.child_end = socket.socketpair()
        self._wake_reader, self._wake_writer = socket.socketpair()
        try:
            # A response the child never reads must not block the thread for good.
            self._requests.settimeout(_SEND_TIMEOUT_SECONDS)
            self._selector.register(self._requests, selectors.EVENT_READ, self._on_requests)
            self._selector.register(self._wake_reader, selectors.EVENT_READ, self._on_wake)
            os.set_inheritable(self.child_end.fileno(), True)
            self._previous_fd = os.environ.get(FD_VARIABLE)
            os.environ[FD_VARIABLE] = str(self.child_end.fileno())
            self._published = True
            self._thread.start()
        except BaseException:
            self._restore_fd_variable()
            self._close_sockets()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Read what the child left, stop the thread and close every socket."""
        try:
            self._stopping.set()
            with contextlib.suppress(OSError):
                self._wake_writer.send(b"\0")
            self._thread.join(_JOIN_TIMEOUT_SECONDS)
        finally:
            self._restore_fd_variable()
            if not self._thread.is_alive():
                # A thread that outlived its bound may still be in a socket call: it keeps its sockets.
                self._close_sockets()

    @property
    def serving(self) -> bool:
        return self._thread.is_alive()

    def _restore_fd_variable(self) -> None:
        if not self._published:
            return
        self._published = False
        if self._previous_fd is None:
            os.environ.pop(FD_VARIABLE, None)
        else:
            os.environ[FD_VARIABLE] = self._previous_fd

    def _close_sockets(self) -> None:
        self._selector.close()
        for sock in (
            self._requests,
            self.child_end,
            self._wake_reader,
            self._wake_writer,
            *self._log_sockets,
        ):
            sock.close()
        self._log_sockets.clear()

    # -- the serving thread -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._dispatch(self._selector.select(_POLL_SECONDS))
            for _ in range(_DRAIN_PASSES):
                events = [e for e in self._selector.select(0) if e[0].fileobj is not self._wake_reader]
                if not events:
                    break
                self._dispatch(events)
        except BaseException as e:  # a thread's exception would otherwise only be printed
            self.error = e
            # Closing our end gives the waiting child EOF (it fails) instead of a wait without end.
            with contextlib.suppress(Exception):
                self._selector.unregister(self._requests)
            self._requests.close()
            self._logger.error("The supervisor's socket to the task's Python child failed", exc_info=e)

    @staticmethod
    def _dispatch(events: list[tuple[selectors.SelectorKey, int]]) -> None:
        for key, _ in events:
            key.data(key.fileobj)

    def _on_wake(self, sock: socket.socket) -> None:
        sock.recv(_READ_SIZE)

    def _on_requests(self, sock: socket.socket) -> None:
        data = sock.recv(_READ_SIZE)
        if not data:  # pragma: no cover - the child's end stays open here until the task ends
            self._selector.unregister(sock)
            return
        buffer = self._request_buffer
        buffer += data
        # Length-prefixed msgpack frames, as the supervisor's length_prefixed_frame_reader reads them.
        while len(buffer) >= 4:
            length = int.from_bytes(buffer[:4], byteorder="big")
            if len(buffer) < 4 + length:
                break
            request = _REQUEST_DECODER.decode(bytes(buffer[4 : 4 + length]))
            del buffer[: 4 + length]
            self._answer(request)

    def _answer(self, request: Any) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        if body.get("type") == "ResendLoggingFD":
            self._send_logs_socket(request.id)
            return
        self._requests.sendall(self._serve(request).as_bytes())

    def _send_logs_socket(self, request_id: int) -> None:
        # The fd's number means nothing in the child: the client replaces it with the one it receives.
        reader, child_logs = socket.socketpair()
        try:
            body = _compat.comms_messages.SentFDs(fds=[child_logs.fileno()]).model_dump()
            frame = _compat.response_frame(request_id, body=body)
            socket.send_fds(self._requests, [frame.as_bytes()], [child_logs.fileno()])
        except BaseException:
            reader.close()
            raise
        finally:
            child_logs.close()
        reader.setblocking(False)
        self._log_sockets.append(reader)
        self._selector.register(reader, selectors.EVENT_READ, _LogLines(self._logger, self._selector))


class _LogLines:
    """Reads one logs socket: the child's JSON log lines, each handed to the task's logger.

    As the supervisor's ``process_log_messages_from_subprocess`` does, except that the timestamp stays
    the child's text (parsing it there breaks under a frozen clock) and a line that cannot be read is
    dropped instead of stopping the thread that also answers the child's requests.
    """

    def __init__(self, logger: Any, selector: selectors.BaseSelector):
        self._logger = logger
        self._selector = selector
        self._buffer = bytearray()

    def __call__(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(_READ_SIZE)
        except BlockingIOError:  # pragma: no cover - woken without data
            return
        if not data:
            # The child exited: what is left is its last line, without a newline.
            if self._buffer:
                self._emit(bytes(self._buffer))
                self._buffer.clear()
            self._selector.unregister(sock)
            return
        self._buffer += data
        while (end := self._buffer.find(b"\n")) != -1:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            self._emit(line)

    def _emit(self, line: bytes) -> None:
        from structlog.stdlib import NAME_TO_LEVEL

        try:
            event = json.loads(line)
            level = NAME_TO_LEVEL.get(event.pop("level", None))
        except (ValueError, AttributeError, TypeError):
            return  # not a structured log line: the supervisor logs and skips it too
        if level is None:
            return
        message = event.pop("event", None) or ""
        if exception := event.pop("exception", None):
            event["error_detail"] = exception
        with contextlib.suppress(ValueError):  # a logger whose output was closed
            self._logger.log(level, message, **event)
