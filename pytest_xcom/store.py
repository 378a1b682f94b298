"""The in-memory XCom store: what the metadata DB's xcom table would hold, for one test.

Rows hold the JSON text the API server would write to the DB, so what a downstream task reads back is
decoded from that text by Airflow's own code, exactly as on a worker. The store itself never imports
Airflow; pushing and decoding values goes through :mod:`pytest_xcom.comms`.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pytest_xcom import _msgs

__all__ = ["UnreadableXCom", "XComRecord", "XComStore"]

RETURN_KEY = "return_value"

# Seeds made before any task context exists belong to "the test's run", whose dag_id and run_id are only
# known once the first context is built; until then they live under this placeholder.
_PENDING = "<the test's dag run>"

_NOTSET: Any = object()


def _date_in_run_id(run_id: str) -> datetime | None:
    """The date Airflow writes into a generated run_id (``<run type>__<ISO date>``), if there is one."""
    _, sep, stamp = run_id.partition("__")
    if not sep:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class XComRecord(NamedTuple):
    """One XCom as a downstream task would receive it."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str
    value: Any


class UnreadableXCom:
    """An XCom that a downstream task cannot read back: the push worked, and a pull raises ``error``
    (e.g. a dataclass outside ``[core] allowed_deserialization_classes``). ``json`` is the stored row."""

    __slots__ = ("error", "json")

    def __init__(self, json: str, error: BaseException) -> None:
        self.json = json
        self.error = error

    def __repr__(self) -> str:
        return f"<UnreadableXCom: a pull raises {type(self.error).__name__}: {self.error}>"


class _Ident(NamedTuple):
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str


@dataclass
class _Row:
    json: str
    seq: int  # insertion order; the DB orders rows of one run by timestamp


@dataclass
class XComStore:
    """XComs for one test, keyed like Airflow's xcom table: (dag_id, run_id, task_id, map_index, key).

    ``seed`` and ``get`` take the same path as a task's push and pull (serde, the comms frame, JSON), so
    a value Airflow refuses is refused here too, and ``get`` returns what a downstream task receives.
    """

    _rows: dict[_Ident, _Row] = field(default_factory=dict, repr=False)
    _runs: dict[tuple[str, str], datetime | None] = field(default_factory=dict, repr=False)
    _seq: Iterator[int] = field(default_factory=itertools.count, repr=False)
    current_run: tuple[str, str] | None = None
    """(dag_id, run_id) of the test's DAG run, set by the first task context or run."""
    task_maps: dict[tuple[str, str, str, int], int] = field(default_factory=dict, repr=False)
    """How many items each pushed value maps into (Airflow's task_map table)."""
    misses: list[str] = field(default_factory=list, repr=False)
    """Explanations of pulls that found nothing, shown when a test fails."""
    _channel: Any = field(default=None, repr=False)
    _pending_runs: dict[tuple[str, str], datetime | None] = field(default_factory=dict, repr=False)
    # The rows' identities by run, by task, by task instance and by XCom (each map index), so that no
    # look-up reads other runs' rows, as the xcom table's indexes spare the API server: a test's store
    # may hold many runs (run_dag in a loop, seeded history).
    _by_run: dict[tuple, dict[_Ident, None]] = field(default_factory=dict, repr=False)
    _by_task: dict[tuple, dict[_Ident, None]] = field(default_factory=dict, repr=False)
    _by_ti: dict[tuple, dict[_Ident, None]] = field(default_factory=dict, repr=False)
    _by_xcom: dict[tuple, dict[int, _Ident]] = field(default_factory=dict, repr=False)
    _by_task_id: dict[str, dict[_Ident, None]] = field(default_factory=dict, repr=False)  # ``in``
    # The map indexes of an XCom in order, kept until one is written or deleted: a mapped task's
    # downstream reads its items one by one (GetXComSequenceItem).
    _map_order: dict[tuple, list[int]] = field(default_factory=dict, repr=False)
    _results: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20), repr=False)
    _dag_runs: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    # -- runs ---------------------------------------------------------------------------------------

    def bind_run(self, dag_id: str, run_id: str, run_date: datetime | None) -> None:
        """Register a DAG run; the first one becomes the test's run and adopts the earlier seeds."""
        known = self._runs.get((dag_id, run_id), run_date)
        if known != run_date:
            # Airflow refuses a second run with the same run_id; sharing rows would mix the two runs.
            raise ValueError(_msgs.duplicate_run_id(dag_id, run_id, known, run_date))
        self._runs[(dag_id, run_id)] = run_date
        if self.current_run is not None:
            return
        self.current_run = (dag_id, run_id)

        def adopted(d: str, r: str) -> tuple[str, str]:
            # A seed's own run_id stays; only what was left to "the test's run" is filled in.
            return (dag_id if d == _PENDING else d), (run_id if r == _PENDING else r)

        for ident in [i for i in self._rows if _PENDING in (i.dag_id, i.run_id)]:
            row = self._drop_row(ident)
            new_dag, new_run = adopted(ident.dag_id, ident.run_id)
            self._add_row(ident._replace(dag_id=new_dag, run_id=new_run), row)
        self.task_maps = {(*adopted(*k[:2]), *k[2:]): v for k, v in self.task_maps.items()}
        pending, self._pending_runs = self._pending_runs, {}
        for (d, r), when in pending.items():
            self._register_seeded_run(*adopted(d, r), when)

    def replace_run(self, dag_id: str, run_id: str, run_date: datetime | None) -> None:
        """Register a new run as dag.test() creates one: an earlier run of the DAG at the same date (or with
        the same run_id and date) is deleted first, with its XComs."""
        for d, r in [
            k for k, when in self._runs.items() if k[0] == dag_id and (when == run_date or k[1] == run_id)
        ]:
            if r == run_id and self._runs[(d, r)] != run_date:
                continue  # bind_run refuses it, saying what to pass
            del self._runs[(d, r)]
            for ident in list(self._by_run.get((d, r), ())):
                self._drop_row(ident)
            self.task_maps = {k: v for k, v in self.task_maps.items() if k[:2] != (d, r)}
        self.bind_run(dag_id, run_id, run_date)

    def clear_task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> None:
        """Delete what a task instance left in the xcom and task_map tables (``clear_db_references``)."""
        for ident in list(self._by_ti.get((dag_id, run_id, task_id, map_index), ())):
            self._drop_row(ident)
        self.task_maps.pop((dag_id, run_id, task_id, map_index), None)

    def _register_seeded_run(self, dag_id: str, run_id: str, when: datetime | None) -> None:
        """A run a seed writes into exists, dated as given, else as the test's run when it shares its run_id,
        else by the date in its run_id, else as the test's run."""
        if (dag_id, run_id) in self._runs:
            return
        if _PENDING in (dag_id, run_id):
            self._pending_runs.setdefault((dag_id, run_id), when)
            return
        test_run_date = self._runs.get(self.current_run) if self.current_run is not None else None
        if when is None and self.current_run is not None and run_id == self.current_run[1]:
            when = test_run_date  # another DAG's run with the test's run_id: as include_prior_dates expects
        if when is None:
            when = _date_in_run_id(run_id)
        if when is None:
            when = test_run_date
        self._runs[(dag_id, run_id)] = when

    def _ident(
        self, task_id: str, key: str, map_index: int, dag_id: str | None, run_id: str | None
    ) -> _Ident:
        current_dag, current_run = self.current_run or (_PENDING, _PENDING)
        return _Ident(dag_id or current_dag, run_id or current_run, task_id, map_index, key)

    # -- the API a test uses ------------------------------------------------------------------------

    def seed(
        self,
        task_id: str,
        value: Any,
        *,
        key: str = RETURN_KEY,
        map_index: int = -1,
        dag_id: str | None = None,
        run_id: str | None = None,
        logical_date: datetime | None = None,
    ) -> None:
        """Store ``value`` as if task ``task_id`` had pushed it, before the task under test runs.

        The value takes a worker's push path, so an unserializable value raises what a push raises.
        Seeding into another run (``dag_id=``, ``run_id=``) creates that run, dated ``logical_date`` (an
        aware datetime), else by the date in its run_id (``manual__2024-01-01T00:00:00+00:00``), else
        as the test's run; ``include_prior_dates`` pulls compare those dates.
        """
        ident = self._ident(task_id, key, map_index, dag_id, run_id)
        self._register_seeded_run(ident.dag_id, ident.run_id, logical_date)
        self.channel().push(ident.dag_id, ident.run_id, ident.task_id, ident.map_index, ident.key, value)

    def pushed_length(self, dag_id: str, run_id: str, task_id: str, key: str = RETURN_KEY) -> int | None:
        """How many items an unmapped task's XCom maps into: the TaskMap row its push wrote (the server
        writes one when a mapped task depends on it), else the length of a seeded value, which stands for
        that push; None while there is neither."""
        length = self.task_maps.get((dag_id, run_id, task_id, -1))
        if length is not None:
            return length
        value = self.get(task_id, key=key, dag_id=dag_id, run_id=run_id)
        if not hasattr(value, "__len__") or isinstance(value, str):
            return None
        return len(value)

    def get(
        self,
        task_id: str,
        *,
        key: str = RETURN_KEY,
        map_index: int = -1,
        dag_id: str | None = None,
        run_id: str | None = None,
        default: Any = None,
    ) -> Any:
        """The value a downstream task would receive for this XCom, or ``default`` if there is none."""
        row = self._rows.get(self._ident(task_id, key, map_index, dag_id, run_id))
        if row is None:
            return default
        return self.channel().decode(key, row.json)

    def pushed(self, task_id: str, *, dag_id: str | None = None, run_id: str | None = None) -> dict[str, Any]:
        """Everything ``task_id`` pushed in the run, {key: value}, for unmapped tasks; see ``records``."""
        run = self._ident(task_id, RETURN_KEY, -1, dag_id, run_id)
        records = self.records(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, map_index=-1)
        return {r.key: r.value for r in records}

    def records(
        self,
        *,
        dag_id: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
        map_index: int | None = None,
        keep_unreadable: bool = False,
    ) -> list[XComRecord]:
        """All XComs in the order they were pushed, optionally only those matching the given fields.

        A value a downstream task's pull would fail on raises that error, or with ``keep_unreadable``
        is an :class:`UnreadableXCom` (a run's results: the push worked, as in Airflow).
        """
        decode = self._decode_or_unreadable if keep_unreadable else self.channel().decode
        return [
            XComRecord(*ident, decode(ident.key, self._rows[ident].json))
            for ident in self.identities(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index)
        ]

    def _decode_or_unreadable(self, key: str, json_text: str) -> Any:
        try:
            return self.channel().decode(key, json_text)
        except Exception as error:
            return UnreadableXCom(json_text, error)

    def identities(
        self,
        *,
        dag_id: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
        map_index: int | None = None,
    ) -> list[_Ident]:
        """(dag_id, run_id, task_id, map_index, key) of the matching XComs, without decoding values."""
        wanted = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index}
        filters = {name: value for name, value in wanted.items() if value is not None}
        candidates: Iterable[_Ident] = self._rows
        if dag_id is not None and run_id is not None:
            if task_id is not None and map_index is not None:
                candidates = self._by_ti.get((dag_id, run_id, task_id, map_index), ())
            elif task_id is not None:
                candidates = self._by_task.get((dag_id, run_id, task_id), ())
            else:
                candidates = self._by_run.get((dag_id, run_id), ())
        found = [ident for ident in candidates if all(getattr(ident, n) == v for n, v in filters.items())]
        found.sort(key=lambda ident: self._rows[ident].seq)
        return found

    def __iter__(self) -> Iterator[XComRecord]:
        return iter(self.records())

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._by_task_id

    def clear(self) -> None:
        """Forget every XCom (the runs stay known)."""
        self._rows.clear()
        indexes = (self._by_run, self._by_task, self._by_ti, self._by_xcom, self._by_task_id, self._map_order)
        for index in indexes:
            index.clear()
        self.task_maps.clear()
        self.misses.clear()

    def explain_miss(
        self,
        task_id: str,
        *,
        key: str = RETURN_KEY,
        map_index: int = -1,
        dag_id: str | None = None,
        run_id: str | None = None,
    ) -> str:
        """Say why this XCom is not there and what was pushed instead."""
        ident = self._ident(task_id, key, map_index, dag_id, run_id)
        in_run = list(self._by_run.get((ident.dag_id, ident.run_id), ()))
        return _msgs.xcom_miss(
            task_id,
            key,
            map_index,
            keys_of_task=[(i.key, i.map_index) for i in in_run if i.task_id == task_id],
            tasks_that_pushed=sorted({i.task_id for i in in_run}),
        )

    def assert_pushed(
        self,
        task_id: str,
        key: str = RETURN_KEY,
        value: Any = _NOTSET,
        *,
        map_index: int = -1,
        dag_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Assert ``task_id`` pushed ``key`` (and, if given, that a downstream task receives ``value``)."""
        __tracebackhide__ = True
        ident = self._ident(task_id, key, map_index, dag_id, run_id)
        if ident not in self._rows:
            raise AssertionError(
                self.explain_miss(task_id, key=key, map_index=map_index, dag_id=dag_id, run_id=run_id)
            )
        if value is _NOTSET:
            return
        actual = self.channel().decode(key, self._rows[ident].json)
        if actual != value or type(actual) is not type(value):
            records = self.records(dag_id=ident.dag_id, run_id=ident.run_id, task_id=task_id)
            pushed = {(r.key, r.map_index): r.value for r in records}
            raise AssertionError(
                _msgs.value_mismatch(task_id, key, value, actual, _msgs.pushed_summary(task_id, pushed))
            )

    def assert_not_pushed(
        self,
        task_id: str,
        key: str = RETURN_KEY,
        *,
        map_index: int = -1,
        dag_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Assert ``task_id`` did not push ``key``."""
        __tracebackhide__ = True
        ident = self._ident(task_id, key, map_index, dag_id, run_id)
        if ident in self._rows:
            value = self.channel().decode(key, self._rows[ident].json)
            raise AssertionError(f"expected no XCom {key!r} from {task_id!r}, but it pushed {value!r}")

    def note_result(self, result: Any) -> None:
        """Remember what a run_task / run_dag call returned, for the test's failure report (the last 20)."""
        self._results.append(result)

    def results(self) -> list[Any]:
        """The results of the latest run_task / run_dag calls on this store, oldest first."""
        return list(self._results)

    # -- the API server's side, used by the comms channel -------------------------------------------

    def channel(self) -> Any:
        """The comms channel wired to this store (built on first use: it imports Airflow)."""
        if self._channel is None:
            from pytest_xcom.comms import InMemorySupervisorComms

            self._channel = InMemorySupervisorComms(store=self)
        return self._channel

    def put_json(
        self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str, json_text: str
    ) -> None:
        """Write a row as the API server does: replacing any row with the same identity."""
        ident = _Ident(dag_id, run_id, task_id, map_index, key)
        if ident in self._rows:
            self._drop_row(ident)
        self._add_row(ident, _Row(json_text, next(self._seq)))

    def delete(self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str) -> None:
        ident = _Ident(dag_id, run_id, task_id, map_index, key)
        if ident in self._rows:
            self._drop_row(ident)

    def _add_row(self, ident: _Ident, row: _Row) -> None:
        self._rows[ident] = row
        dag_id, run_id, task_id, map_index, key = ident
        self._by_run.setdefault((dag_id, run_id), {})[ident] = None
        self._by_task.setdefault((dag_id, run_id, task_id), {})[ident] = None
        self._by_ti.setdefault((dag_id, run_id, task_id, map_index), {})[ident] = None
        self._by_xcom.setdefault((dag_id, run_id, task_id, key), {})[map_index] = ident
        self._by_task_id.setdefault(task_id, {})[ident] = None
        self._map_order.pop((dag_id, run_id, task_id, key), None)

    def _drop_row(self, ident: _Ident) -> _Row:
        row = self._rows.pop(ident)
        dag_id, run_id, task_id, map_index, key = ident
        self._map_order.pop((dag_id, run_id, task_id, key), None)
        for index, bucket, member in (
            (self._by_run, (dag_id, run_id), ident),
            (self._by_task, (dag_id, run_id, task_id), ident),
            (self._by_ti, (dag_id, run_id, task_id, map_index), ident),
            (self._by_xcom, (dag_id, run_id, task_id, key), map_index),
            (self._by_task_id, task_id, ident),
        ):
            members = index[bucket]
            del members[member]
            if not members:
                del index[bucket]
        return row

    def _visible_runs(self, dag_id: str, run_id: str, include_prior_dates: bool) -> set[str]:
        if not include_prior_dates:
            return {run_id}
        # Airflow compares coalesce(logical_date, run_after) of every run of the DAG with this run's.
        this = self._runs.get((dag_id, run_id))
        if this is None:
            return set()
        return {r for (d, r), when in self._runs.items() if d == dag_id and when is not None and when <= this}

    def _recency(self, item: tuple[_Ident, _Row]) -> tuple:
        # The API server orders by the run's logical date, newest first, then by write time.
        ident, row = item
        when = self._runs.get((ident.dag_id, ident.run_id))
        return (when is not None, when, row.seq)

    def find_json(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        key: str,
        map_index: int,
        include_prior_dates: bool = False,
    ) -> str | None:
        """The row GET /xcoms/{dag_id}/{run_id}/{task_id}/{key}?map_index= answers with, if any."""
        runs = self._visible_runs(dag_id, run_id, include_prior_dates)
        idents = (_Ident(dag_id, run, task_id, map_index, key) for run in runs)
        found = [(ident, self._rows[ident]) for ident in idents if ident in self._rows]
        if not found:
            return None
        return max(found, key=self._recency)[1].json

    def find_json_item(self, dag_id: str, run_id: str, task_id: str, key: str, offset: int) -> str | None:
        """The row at ``offset`` (from the end if negative) of :meth:`find_all_json`'s list, if any (the
        /item endpoint)."""
        xcom = (dag_id, run_id, task_id, key)
        bucket = self._by_xcom.get(xcom)
        if not bucket:
            return None
        order = self._map_order.get(xcom)
        if order is None:
            order = self._map_order[xcom] = sorted(bucket)
        try:
            return self._rows[bucket[order[offset]]].json
        except IndexError:
            return None

    def find_all_json(
        self, dag_id: str, run_id: str, task_id: str, key: str, include_prior_dates: bool = False
    ) -> list[str]:
        """Every map index's row for this XCom, ordered by map_index (the /slice endpoint)."""
        runs = self._visible_runs(dag_id, run_id, include_prior_dates)
        if len(runs) == 1:
            # One run holds one row per map index: the order is the map indexes' (a mapped task's
            # downstream reads its items one by one, each read asking for the whole list).
            bucket = self._by_xcom.get((dag_id, next(iter(runs)), task_id, key), {})
            return [self._rows[bucket[map_index]].json for map_index in sorted(bucket)]
        found = [
            (ident, self._rows[ident])
            for run in runs
            for ident in self._by_xcom.get((dag_id, run, task_id, key), {}).values()
        ]
        found.sort(key=self._recency, reverse=True)
        found.sort(key=lambda item: item[0].map_index)  # stable: newest first within a map index
        return [row.json for _, row in found]

    # -- DAG runs run_dag made, for later runs (depends_on_past, prev_*_success) ------------------------

    def record_dag_run(self, dag_id: str, run_id: str, dag_run: Any) -> None:
        """Keep ``dag_run`` (the runner's view of a run: its state and task instances) for later runs."""
        self._dag_runs[(dag_id, run_id)] = dag_run

    def earlier_dag_runs(self, dag_id: str, before: datetime) -> list[Any]:
        """The recorded runs of ``dag_id`` dated before ``before``, latest first (a run dag.test() would
        have deleted, because a later one had its date, is gone)."""
        dated = [
            (self._runs[key], dag_run)
            for key, dag_run in self._dag_runs.items()
            if key[0] == dag_id and self._runs.get(key) is not None and self._runs[key] < before
        ]
        return [dag_run for _, dag_run in sorted(dated, key=lambda item: item[0], reverse=True)]

    def recorded_dag_run(self, dag_id: str, run_id: str) -> Any | None:
        """The run :meth:`record_dag_run` kept under this id, or None (e.g. the run of a ``run_task``)."""
        return self._dag_runs.get((dag_id, run_id))

    def find_prior_json(self, dag_id: str, run_id: str, task_id: str, key: str) -> list[str]:
        """Every row of this XCom in this run and the DAG's earlier ones, as the /slice endpoint with
        include_prior_dates answers: ordered by map_index only (the route drops get_many's ORDER BY), so
        the database orders a map index's rows from several runs; SQLite gives them as written."""
        runs = self._visible_runs(dag_id, run_id, True)
        rows = (
            (map_index, self._rows[ident])
            for run in runs
            for map_index, ident in self._by_xcom.get((dag_id, run, task_id, key), {}).items()
        )
        return [row.json for _, row in sorted(rows, key=lambda item: (item[0], item[1].seq))]
