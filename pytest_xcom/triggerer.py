"""The triggerer's part, and the scheduler's handling of rescheduled sensors, on a clock that moves.

A deferred task waits for its trigger's first event; a sensor in ``reschedule`` mode waits until its
reschedule date. In Airflow both wait in real time; under freezegun the clock never gets there, and the
test would hang. Here nothing waits: each DAG run has a :class:`RunClock`, and a wait moves it.

- A trigger runs on an event loop whose time is virtual: when the loop has nothing to do but wait for a
  timer, its time jumps to that timer and the run's clock moves as far. So ``DateTimeTrigger`` (and
  ``TimeDeltaTrigger``) fire as soon as the run's clock reaches their moment, and a trigger polling
  something every few seconds polls at once.
- A rescheduled sensor pokes again at once, with the run's clock moved to its reschedule date, and the
  server's answer to "when did this sensor first start" reads that clock, so its ``timeout`` works.

The run's clock is freezegun's while a test freezes time (moving it moves the test's frozen clock, as
a real wait moves real time); otherwise it is the wall clock plus how far this run has moved it. Every
wait is bounded: a trigger that reaches its ``timeout`` resumes the task with Airflow's trigger-timeout
failure; one that never fires within :data:`HORIZON` of run time, or waits for I/O longer than
:data:`REAL_WAIT` of real time, raises :class:`TriggerWaitError`, as does a sensor rescheduled more than
:data:`MAX_RESCHEDULES` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pytest_xcom import _compat, _msgs

__all__ = [
    "HORIZON",
    "MAX_RESCHEDULES",
    "REAL_WAIT",
    "RunClock",
    "TriggerWaitError",
    "fire_trigger",
    "set_reschedule_count",
]

HORIZON = timedelta(days=366)
"""How far a trigger may move the run's clock without firing before the wait is an error."""
REAL_WAIT = 60.0
"""Seconds of real time a trigger may wait on I/O (nothing scheduled on its loop) before it is an error."""
MAX_RESCHEDULES = 10_000
"""How many times one sensor may be rescheduled in a run before it is an error."""
_MAX_JUMPS = 200_000


class TriggerWaitError(TimeoutError):
    """A trigger or sensor wait reached pytest_xcom's bound: in Airflow it would still be waiting."""


def _frozen_clock() -> Any:
    """freezegun's active clock (the innermost freeze_time), or None when time is not frozen."""
    from freezegun.api import freeze_factories

    return freeze_factories[-1] if freeze_factories else None


@dataclass
class RunClock:
    """The clock of one DAG run: the test's (frozen or wall) clock, moved on by the run's waits."""

    moved: timedelta = timedelta(0)
    """How far the run moved past the wall clock (while time is not frozen)."""
    first_starts: dict[Any, datetime] = field(default_factory=dict)
    """When each rescheduled task instance first started, on the run's clock, by task instance id."""

    def now(self) -> datetime:
        return _compat.timezone.utcnow() + self.moved

    def advance(self, delta: timedelta) -> None:
        """Move the run's clock forward by ``delta`` (a frozen clock moves with it)."""
        if delta <= timedelta(0):
            return
        frozen = _frozen_clock()
        if frozen is not None:
            frozen.tick(delta)
        else:
            self.moved += delta

    def advance_to(self, moment: datetime) -> None:
        self.advance(moment - self.now())

    # -- reschedule-mode sensors --------------------------------------------------------------------

    def first_start(self, ti_id: Any) -> datetime | None:
        """The server's TaskRescheduleStartDate, on the process clock the sensor compares it with."""
        start = self.first_starts.get(ti_id)
        return None if start is None else start - self.moved

    def reschedule(self, ti: Any, count: int) -> None:
        """A sensor asked to be rescheduled (its ``count``-th time): keep its first start, bound the waits.

        The scheduler moves the clock to the reschedule date when nothing else is left to run.
        """
        if count > MAX_RESCHEDULES:
            raise TriggerWaitError(_msgs.too_many_reschedules(ti.task_id, MAX_RESCHEDULES, self.now()))
        # The server keeps the first attempt's start date in its task_reschedule rows.
        self.first_starts.setdefault(ti.id, ti.start_date + self.moved)


def set_reschedule_count(ti: Any, count: int) -> None:
    """Tell a starting task how often it was rescheduled, as the server's run context does."""
    ti._ti_context_from_server.task_reschedule_count = count


# -- running a trigger on virtual time ------------------------------------------------------------------


class _VirtualTimeSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The event loop's selector: instead of blocking until the next timer, it jumps time to it."""

    def __init__(self, on_jump: Any):
        super().__init__()
        self.on_jump = on_jump
        self.now = 0.0
        self.jumps = 0
        self.bounded = True
        self.in_threads = 0
        """How many calls the loop handed to executor threads are still running."""

    def select(self, timeout: float | None = None) -> Any:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if self.in_threads:
            # Work handed to a thread (sync_to_async: a trigger asking the API server) ends in real
            # time; the clock must not jump past it. Its end wakes the loop.
            ready = super().select(REAL_WAIT if self.bounded else 1.0)
            if not ready and self.bounded:
                raise TriggerWaitError(_msgs.trigger_waits_in_real_time(REAL_WAIT))
            return ready
        if timeout is None:
            # Nothing scheduled: the trigger waits for I/O or another thread, in real time.
            ready = super().select(REAL_WAIT if self.bounded else 1.0)
            if not ready and self.bounded:
                raise TriggerWaitError(_msgs.trigger_waits_in_real_time(REAL_WAIT))
            return ready
        self.jumps += 1
        if self.jumps > _MAX_JUMPS and self.bounded:
            raise TriggerWaitError(_msgs.trigger_polls_forever(_MAX_JUMPS))
        # A microsecond past the timer: in floats, now + (when - now) can fall short of when, and the
        # loop would ask again for a wait too short to move the time at all.
        self.now += timeout + 1e-6
        self.on_jump(timedelta(seconds=timeout))  # the clock the trigger reads: whole microseconds
        return []


class _VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self, selector: _VirtualTimeSelector):
        super().__init__(selector)
        self._virtual = selector

    def time(self) -> float:
        return self._virtual.now

    def run_in_executor(self, executor: Any, func: Any, *args: Any) -> Any:
        self._virtual.in_threads += 1
        future = super().run_in_executor(executor, func, *args)
        future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, _future: Any) -> None:
        self._virtual.in_threads -= 1


@contextlib.contextmanager
def _clock_for_trigger(clock: RunClock) -> Iterator[Any]:
    """A frozen clock the trigger reads, moved by the loop's jumps; the run's clock moves as far."""
    frozen = _frozen_clock()
    if frozen is not None:
        yield frozen.tick
        return
    import freezegun

    moved = timedelta(0)

    with freezegun.freeze_time(clock.now()) as factory:

        def tick(delta: timedelta) -> None:
            nonlocal moved
            moved += delta
            factory.tick(delta)

        try:
            yield tick
        finally:
            clock.moved += moved


def _first_event(trigger: Any, clock: RunClock, timeout: timedelta | None) -> tuple[str, Any]:
    """('event', event or None) or ('timeout', None): the trigger run to its first event, on the clock."""
    limit = HORIZON if timeout is None else min(timeout, HORIZON)

    async def first() -> Any:
        return await asyncio.wait_for(anext(trigger.run(), None), limit.total_seconds())

    with _clock_for_trigger(clock) as tick:
        selector = _VirtualTimeSelector(tick)
        loop = _VirtualTimeLoop(selector)
        try:
            return "event", loop.run_until_complete(first())
        except TimeoutError as e:
            if isinstance(e, TriggerWaitError) or selector.now < limit.total_seconds():
                raise  # a bound of ours, or the trigger's own error
            if timeout is not None and timeout <= HORIZON:
                return "timeout", None
            raise TriggerWaitError(_msgs.trigger_never_fired(type(trigger).__name__, HORIZON)) from None
        finally:
            selector.bounded = False  # let cancelled work finish without tripping the bounds again
            with contextlib.suppress(Exception):
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def fire_trigger(defer: Any, clock: RunClock) -> tuple[str, dict]:
    """Run a deferred task's trigger to its first event; (next_method, next_kwargs) to resume with.

    As the triggerer and scheduler do: the event's payload goes to the resumed method as ``event``; a
    trigger that reaches the deferral's timeout, or raises, resumes the task with Airflow's failure
    method (the task then raises TaskDeferralTimeout or TaskDeferralError).
    """
    reasons = _compat.TriggerFailureReason
    trigger_kwargs: Any = _compat.trigger_kwargs(defer.trigger_kwargs)
    trigger = _compat.import_string(defer.classpath)(**trigger_kwargs)
    try:
        outcome, event = _first_event(trigger, clock, defer.trigger_timeout)
    except TriggerWaitError:
        raise
    except Exception as e:
        lines = traceback.format_exception(type(e), e, e.__traceback__)
        failure = {"error": reasons.TRIGGER_FAILURE.value, "traceback": lines}
        return _compat.TRIGGER_FAIL_REPR, _compat.stored_next_kwargs(failure)
    if outcome == "timeout":
        return _compat.TRIGGER_FAIL_REPR, _compat.stored_next_kwargs({"error": reasons.TRIGGER_TIMEOUT.value})
    return defer.next_method, (_compat.resume_kwargs(event.payload) if event else defer.next_kwargs or {})
