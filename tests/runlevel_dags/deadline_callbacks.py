"""Deadline callbacks the tests' DAGs name by path (Airflow imports a deadline callback by its path;
an AsyncCallback must be a coroutine function: the triggerer awaits it)."""

from __future__ import annotations

CALLS: list[dict] = []


async def record(**kwargs):
    CALLS.append(kwargs)


async def broken(**kwargs):
    raise RuntimeError("deadline callback broke")
