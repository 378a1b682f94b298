"""Task callables that more than one test module builds its DAGs from."""

from __future__ import annotations

from typing import Any


def fails_on(day: int) -> Any:
    """A python_callable that fails on runs whose logical date falls on ``day`` and returns the day else."""

    def check(**context: Any) -> int:
        if context["logical_date"].day == day:
            raise ValueError(f"fails on day {day}")
        return context["logical_date"].day

    return check
