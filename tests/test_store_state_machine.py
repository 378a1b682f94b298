"""A hypothesis state machine: tasks push, pull, seed, delete and clear XComs in two DAG runs.

Every step goes through Airflow's own code where a task would (``ti.xcom_push``, ``ti.xcom_pull``,
``XCom.delete``) and through the store's API where a test would (``seed``, ``get``, ``records``,
``assert_pushed``, ``clear``); after each step the store must agree with a plain dict of what the xcom
table holds. A failure reads ``fake(...) != model(...)``.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

import pytest
from airflow.sdk.execution_time.xcom import XCom
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pytest_xcom import _compat
from pytest_xcom.comms import installed
from pytest_xcom.context import TaskContextFactory
from pytest_xcom.roundtrips import _same
from pytest_xcom.store import XComStore
from pytest_xcom.strategies import xcom_values

RUNS = {
    "run_0": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    "run_1": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
}
TASKS = ("extract", "transform", "load")
MAP_INDEXES = (-1, 0, 1, 2)
KEYS = ("return_value", "rows", "meta")

runs = st.sampled_from(sorted(RUNS))
tasks = st.sampled_from(TASKS)
map_indexes = st.sampled_from(MAP_INDEXES)
keys = st.sampled_from(KEYS)
# Values that arrive exactly as pushed, so the model can hold them as they are.
values = xcom_values(max_depth=2, max_size=3)

Ident = tuple[str, str, int, str]  # (run_id, task_id, map_index, key)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else f"{text[:200]}..."


class XComStoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = XComStore()
        self.model: dict[Ident, Any] = {}
        self.stack = contextlib.ExitStack()
        self.stack.enter_context(installed(self.store.channel()))
        self.factory = TaskContextFactory(store=self.store)
        self.stack.callback(self.factory.close)
        self.tis: dict[tuple[str, str, int], Any] = {}
        for run_id in RUNS:  # every run known to the store before a seed names it
            self.ti(run_id, "observer", -1)

    def teardown(self) -> None:
        self.stack.close()

    def ti(self, run_id: str, task_id: str, map_index: int) -> Any:
        """The task instance of ``task_id`` at ``map_index`` in run ``run_id`` (built once)."""
        if (run_id, task_id, map_index) not in self.tis:
            context = self.factory(task_id, run_id=run_id, logical_date=RUNS[run_id], map_index=map_index)
            self.tis[(run_id, task_id, map_index)] = context["ti"]
        return self.tis[(run_id, task_id, map_index)]

    def check(self, call: str, actual: Any, expected: Any) -> None:
        assert _same(expected, actual), f"fake({call}) = {_show(actual)} != model({call}) = {_show(expected)}"

    # -- what tasks do ------------------------------------------------------------------------------

    @rule(run_id=runs, task_id=tasks, map_index=map_indexes, key=keys, value=values)
    def push(self, run_id, task_id, map_index, key, value):
        self.ti(run_id, task_id, map_index).xcom_push(key, value)
        self.model[(run_id, task_id, map_index, key)] = value

    @rule(run_id=runs, puller=tasks, task_id=tasks, map_index=map_indexes, key=keys)
    def pull_one(self, run_id, puller, task_id, map_index, key):
        actual = self.ti(run_id, puller, -1).xcom_pull(task_ids=task_id, key=key, map_indexes=map_index)
        expected = self.model.get((run_id, task_id, map_index, key))
        self.check(
            f"xcom_pull({task_id!r}, key={key!r}, map_indexes={map_index}) in {run_id}", actual, expected
        )

    @rule(run_id=runs, puller=tasks, task_id=tasks, key=keys)
    def pull_every_map_index(self, run_id, puller, task_id, key):
        actual = self.ti(run_id, puller, -1).xcom_pull(task_ids=task_id, key=key)
        found = sorted(
            (m, v) for (r, t, m, k), v in self.model.items() if (r, t, k) == (run_id, task_id, key)
        )
        # One value comes back as itself, several as a list ordered by map index, none as None.
        expected = None if not found else found[0][1] if len(found) == 1 else [v for _, v in found]
        self.check(f"xcom_pull({task_id!r}, key={key!r}) in {run_id}", actual, expected)

    @rule(run_id=runs, task_id=tasks, map_index=map_indexes, key=keys)
    def delete(self, run_id, task_id, map_index, key):
        dag_id = self.ti(run_id, task_id, map_index).dag_id
        XCom.delete(key=key, task_id=task_id, dag_id=dag_id, run_id=run_id, map_index=map_index)
        # Airflow 3.0's XCom.delete leaves the map_index out of DeleteXCom: the server deletes the -1 row.
        deleted = -1 if _compat.AIRFLOW_MINOR == (3, 0) else map_index
        self.model.pop((run_id, task_id, deleted, key), None)

    # -- what a test does -------------------------------------------------------------------------------

    @rule(run_id=runs, task_id=tasks, map_index=map_indexes, key=keys, value=values)
    def seed(self, run_id, task_id, map_index, key, value):
        self.store.seed(task_id, value, key=key, map_index=map_index, run_id=run_id)
        self.model[(run_id, task_id, map_index, key)] = value

    @rule(run_id=runs, task_id=tasks, map_index=map_indexes, key=keys)
    def get(self, run_id, task_id, map_index, key):
        actual = self.store.get(task_id, key=key, map_index=map_index, run_id=run_id, default="<none>")
        expected = self.model.get((run_id, task_id, map_index, key), "<none>")
        self.check(
            f"get({task_id!r}, key={key!r}, map_index={map_index}, run_id={run_id!r})", actual, expected
        )

    @rule(run_id=runs, task_id=tasks, map_index=map_indexes, key=keys)
    def assert_pushed(self, run_id, task_id, map_index, key):
        call = f"assert_pushed({task_id!r}, {key!r}, map_index={map_index}, run_id={run_id!r})"
        ident = (run_id, task_id, map_index, key)
        if ident in self.model:
            self.store.assert_pushed(task_id, key, self.model[ident], map_index=map_index, run_id=run_id)
        else:
            with pytest.raises(AssertionError):
                self.store.assert_pushed(task_id, key, map_index=map_index, run_id=run_id)
                raise RuntimeError(f"fake({call}) passed != model({call}) fails: nothing was pushed")

    @precondition(lambda self: self.model)
    @rule()
    def clear(self):
        self.store.clear()
        self.model.clear()

    # -- what must always hold ----------------------------------------------------------------------

    @invariant()
    def records_are_the_model(self):
        dag_ids = {r.dag_id for r in self.store.records()}
        actual = {(r.run_id, r.task_id, r.map_index, r.key): r.value for r in self.store.records()}
        assert len(dag_ids) <= 1, f"fake(records()) spans DAGs {dag_ids}"
        assert actual.keys() == self.model.keys(), (
            f"fake(records()) = {sorted(actual)} != model(records()) = {sorted(self.model)}"
        )
        for ident, value in actual.items():
            self.check(f"records()[{ident}]", value, self.model[ident])
        assert len(self.store) == len(self.model), (
            f"fake(len()) = {len(self.store)} != model = {len(self.model)}"
        )

    @invariant()
    def membership_is_the_model(self):
        for task_id in TASKS:
            pushed = any(t == task_id for (_, t, _, _) in self.model)
            assert (task_id in self.store) == pushed, f"fake({task_id!r} in store) != model: {pushed}"


XComStoreMachine.TestCase.settings = settings(deadline=None)
test_the_store_behaves_like_the_xcom_table = XComStoreMachine.TestCase
