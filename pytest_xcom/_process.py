"""A worker's process-wide state, shared safely by every task running in the test's process.

A worker runs one task and exits; its task runner freely changes process-wide state: it exports
``AIRFLOW_CTX_*`` variables, installs a SIGTERM handler (which only the main thread may do), pushes the
task's context on a module-level stack, and reads its comms channel from a module global. Here many tasks
share one process, one after the other and, when a test runs them from threads, at the same time. This
module gives each of those globals a keeper:

- what the first of several overlapping users changes is put back when the last one leaves, whichever
  threads they run on (``restored_environ``, ``comms_installed``);
- what must be per thread is routed by thread: the comms channel (when threads run different stores)
  and the current-context stack;
- ``signal.signal`` off the main thread records the handler for that thread instead of failing, and a
  real Ctrl-C (SIGINT) during a task still interrupts the test session after the task runner, which
  catches every exception, has reported the task.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from pytest_xcom import _msgs

__all__ = ["comms_installed", "restored_environ", "worker_globals_restored"]

_lock = threading.RLock()
_real_signal = signal.signal


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


# -- os.environ ------------------------------------------------------------------------------------


class _EnvironEntry:
    __slots__ = ("saved",)

    def __init__(self, saved: dict[bytes, bytes]):
        self.saved = saved


_environ_entries: list[_EnvironEntry] = []


def _restore_environ(saved: dict) -> None:
    raw = os.environ._data  # type: ignore[attr-defined]
    if raw == saved:
        return
    decode = os.environ.decodekey  # type: ignore[attr-defined]
    for name in set(raw) - set(saved):
        del os.environ[decode(name)]
    for name, value in saved.items():
        if raw.get(name) != value:
            os.environ[decode(name)] = os.environ.decodevalue(value)  # type: ignore[attr-defined]


@contextlib.contextmanager
def restored_environ() -> Iterator[None]:
    """Undo every change to os.environ made in the block.

    Blocks may overlap when threads run tasks: a block that ends while a later one (of another thread)
    is still running hands its saved environment to that one, and the last to end restores it.
    """
    # Compared as os.environ's raw (encoded) mapping: copying it is several times cheaper than decoding
    # every variable, and this runs around every task.
    with _lock:
        entry = _EnvironEntry(dict(os.environ._data))  # type: ignore[attr-defined]
        _environ_entries.append(entry)
    try:
        yield
    finally:
        with _lock:
            position = _environ_entries.index(entry)
            del _environ_entries[position]
            if position < len(_environ_entries):
                _environ_entries[position].saved = entry.saved
            else:
                _restore_environ(entry.saved)


# -- the comms channel and the current-context stack -------------------------------------------------


class _ThreadRoutedComms:
    """SUPERVISOR_COMMS while threads run tasks against different channels: each thread gets its own.

    A thread that installed no channel (one a task started) uses the most recently installed one.
    """

    def _target(self) -> Any:
        with _lock:
            own = _comms_by_thread.get(threading.get_ident())
            return own[-1] if own else _comms_order[-1][1]

    def send(self, msg: Any) -> Any:
        return self._target().send(msg)

    async def asend(self, msg: Any) -> Any:
        return await self._target().asend(msg)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


class _PerThreadContextStack:
    """Airflow's current-context stack (a module-level list), one stack per thread.

    A thread with no context of its own (one a task started) sees the most recently pushed one.
    """

    def __init__(self, shared: list):
        self.shared = shared
        self.by_thread: dict[int, list] = {}
        self.latest: list = shared

    def _own(self) -> list:
        return self.by_thread.setdefault(threading.get_ident(), [])

    def _view(self) -> list:
        own = self.by_thread.get(threading.get_ident())
        if own:
            return own
        return self.latest if self.latest else self.shared

    def append(self, context: Any) -> None:
        with _lock:
            own = self._own()
            own.append(context)
            self.latest = own

    def pop(self, *args: Any) -> Any:
        with _lock:
            own = self.by_thread.get(threading.get_ident())
            return (own if own else self.shared).pop(*args)

    def __getitem__(self, index: Any) -> Any:
        return self._view()[index]

    def __len__(self) -> int:
        return len(self._view())

    def __bool__(self) -> bool:
        return bool(self._view())

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._view()))

    def merged(self) -> list:
        """The contexts still pushed when the stack goes back to a plain list (pushed, not yet popped)."""
        merged = list(self.shared)
        for stack in self.by_thread.values():
            merged.extend(stack)
        return merged


_comms_by_thread: dict[int, list[Any]] = {}
_comms_order: list[list[Any]] = []  # [thread, channel] in installation order, one per block
_installed_state: dict[str, Any] = {}


def _context_modules() -> list[Any]:
    # Airflow's current-context stack is one list bound to a name in two modules; to move into _compat.
    from airflow.sdk.definitions._internal import contextmanager
    from airflow.sdk.execution_time import context

    return [contextmanager, context]


def _set_comms_global(set_comms: Callable[[Any], None]) -> None:
    channels = {id(c): c for _, c in _comms_order}
    set_comms(next(iter(channels.values())) if len(channels) == 1 else _installed_state["router"])


@contextlib.contextmanager
def comms_installed(
    comms: Any,
    *,
    get_comms: Callable[[], Any],
    set_comms: Callable[[Any], None],
    process_patches: Callable[[], contextlib.AbstractContextManager],
) -> Iterator[Any]:
    """Make ``comms`` the task SDK's channel for this thread, for the block.

    The first block to start saves the previous channel and enters ``process_patches()``; the last to end
    restores both. While one channel is installed it is the module global itself; while threads install
    different ones, the global routes each thread's messages to its own.
    """
    thread = threading.get_ident()
    with _lock:
        if not _comms_order:
            stack = contextlib.ExitStack()
            stack.enter_context(process_patches())
            modules = _context_modules()
            shared = modules[0]._CURRENT_CONTEXT
            contexts = _PerThreadContextStack(shared)
            for module in modules:
                module._CURRENT_CONTEXT = contexts
            _installed_state.update(
                previous=get_comms(), stack=stack, contexts=contexts, router=_ThreadRoutedComms()
            )
        _comms_by_thread.setdefault(thread, []).append(comms)
        entry = [thread, comms]
        _comms_order.append(entry)
        _set_comms_global(set_comms)
    try:
        yield comms
    finally:
        with _lock:
            own = _comms_by_thread[thread]
            own.pop()
            if not own:
                del _comms_by_thread[thread]
            del _comms_order[next(i for i, e in enumerate(_comms_order) if e is entry)]
            if _comms_order:
                _set_comms_global(set_comms)
            else:
                contexts = _installed_state["contexts"]
                contexts.shared[:] = contexts.merged()
                for module in _context_modules():
                    module._CURRENT_CONTEXT = contexts.shared
                set_comms(_installed_state["previous"])
                stack = _installed_state["stack"]
                _installed_state.clear()
                stack.close()


# -- signals ---------------------------------------------------------------------------------------

_thread_signals = threading.local()
_signal_users = 0


def _signal_for_this_thread(signalnum: Any, handler: Any) -> Any:
    """``signal.signal`` as the task runner calls it: off the main thread, kept for that thread only.

    Python lets only the main thread install handlers; a worker's task runner is its main thread. A
    task run from another thread keeps its handler here (no signal reaches it, as none would reach a
    thread) and the process's real handlers stay as they are.
    """
    if _on_main_thread():
        return _real_signal(signalnum, handler)
    handlers = _thread_signals.__dict__.setdefault("handlers", {})
    previous = handlers.get(signalnum, signal.getsignal(signalnum))
    handlers[signalnum] = handler
    return previous


@contextlib.contextmanager
def _signal_calls_allowed_off_main_thread() -> Iterator[None]:
    global _signal_users
    with _lock:
        if _signal_users == 0:
            signal.signal = _signal_for_this_thread
        _signal_users += 1
    try:
        yield
    finally:
        with _lock:
            _signal_users -= 1
            if _signal_users == 0:
                signal.signal = _real_signal
        _thread_signals.__dict__.pop("handlers", None)


@contextlib.contextmanager
def _interrupts_kept() -> Iterator[None]:
    """Let a real SIGINT (Ctrl-C) during a task stop the session once the task has been reported.

    The task runner catches every exception, KeyboardInterrupt included, and reports the task failed, as
    a worker does. In a worker, though, the supervisor sees the signal too; here the test session must.
    A task that raises KeyboardInterrupt itself is only failed.
    """
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield  # ignored, or the default action that ends the process: nothing to keep
        return
    interrupted = False

    def on_interrupt(signum: int, frame: Any) -> None:
        nonlocal interrupted
        try:
            previous(signum, frame)
        except KeyboardInterrupt:
            interrupted = True
            raise

    _real_signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        _real_signal(signal.SIGINT, previous)
        if interrupted:
            raise KeyboardInterrupt(_msgs.INTERRUPTED_DURING_TASK)


@contextlib.contextmanager
def worker_globals_restored() -> Iterator[None]:
    """Around one task attempt: undo what it changes (os.environ, signal handlers), from any thread."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(_signal_calls_allowed_off_main_thread())
        if _on_main_thread():
            previous_term = signal.getsignal(signal.SIGTERM)
            stack.callback(_real_signal, signal.SIGTERM, previous_term)
            stack.enter_context(_interrupts_kept())
        stack.enter_context(restored_environ())
        yield
