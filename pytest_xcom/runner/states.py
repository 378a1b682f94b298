"""Task instance states as the scheduler groups them (airflow/utils/state.py, dependencies_states.py)."""

from __future__ import annotations

SUCCESS, FAILED, SKIPPED = "success", "failed", "skipped"
UPSTREAM_FAILED, REMOVED, UP_FOR_RETRY = "upstream_failed", "removed", "up_for_retry"
UP_FOR_RESCHEDULE, DEFERRED, SCHEDULED = "up_for_reschedule", "deferred", "scheduled"
RUNNING = "running"  # a task instance's, and a DAG run's

FINISHED = frozenset({SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED, REMOVED})
UNFINISHED = frozenset({None, SCHEDULED, UP_FOR_RETRY, UP_FOR_RESCHEDULE, DEFERRED, "queued", "running"})
SCHEDULEABLE = frozenset({None, UP_FOR_RETRY, UP_FOR_RESCHEDULE})
FAILED_STATES = frozenset({FAILED, UPSTREAM_FAILED})
SUCCESS_STATES = frozenset({SUCCESS, SKIPPED})
