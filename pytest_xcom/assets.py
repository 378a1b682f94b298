"""Assets and their events, as the metadata DB holds them and the API server hands them out.

Mirrors three Airflow pieces:

- ``TaskInstance.register_asset_changes_in_db`` (airflow/models/taskinstance.py): what a task's
  ``SucceedTask`` (its outlets and ``outlet_events``) becomes: one event per outlet asset (the extra set
  through ``outlet_events[asset].extra``, else ``{}``), name and URI references resolved against the
  known assets, and one event per asset added through an ``AssetAlias`` outlet (deduplicated on asset and
  extras, as the server does). Airflow registers outlets from a set, so its order is not fixed; here it
  is the order of the task's ``outlets``, then the alias events in the order the task added them.
- The execution API's asset and asset-event routes (``GetAssetByName/Uri``, ``GetAssetEventByAsset`` /
  ``...ByAssetAlias``: a task's ``inlet_events``), answered from :class:`AssetTable`.
- ``AssetEvaluator`` (airflow/assets/evaluation.py): whether a DAG's asset condition (``&`` / ``|``,
  references and aliases) is met by the assets that have new events.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pytest_xcom import _msgs

__all__ = ["AssetEventRecord", "AssetTable", "asset_condition", "condition_met", "dag_assets"]


@dataclass(frozen=True)
class AssetEventRecord:
    """One asset event: the asset it is for, its extra, and the task instance that emitted it."""

    uri: str
    name: str
    extra: dict[str, Any]
    task_id: str | None
    map_index: int
    dag_id: str | None = None
    run_id: str | None = None
    source_aliases: tuple[str, ...] = ()
    """The aliases the event was emitted through (empty for an outlet asset)."""
    timestamp: datetime | None = field(default=None, compare=False, repr=False)
    id: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class _AssetRow:
    name: str
    uri: str
    group: str = "asset"
    extra: dict[str, Any] = field(default_factory=dict)


def _row_of(asset: Any) -> _AssetRow:
    return _AssetRow(
        asset.name, asset.uri, getattr(asset, "group", "asset") or "asset", dict(asset.extra or {})
    )


def _walk(condition: Any) -> Iterator[Any]:
    """Every asset, reference and alias in an asset condition (or a list of them)."""
    if condition is None:
        return
    objects = getattr(condition, "objects", None)
    if objects is not None:
        for obj in objects:
            yield from _walk(obj)
    else:
        yield condition


def asset_condition(dag: Any) -> Any:
    """The asset condition ``dag`` is scheduled on (``schedule=[...]``, ``a & b``, ``@asset``), or None."""
    return getattr(getattr(dag, "timetable", None), "asset_condition", None)


def dag_assets(dag: Any) -> Iterator[Any]:
    """Every asset-like object a DAG names: its tasks' outlets and inlets, and its schedule."""
    for task in dag.task_dict.values():
        for obj in itertools.chain(getattr(task, "outlets", None) or (), getattr(task, "inlets", None) or ()):
            yield from _walk(obj)
    yield from _walk(asset_condition(dag))


def _kind(obj: Any) -> str:
    return type(obj).__name__


@dataclass
class AssetTable:
    """The asset, asset alias and asset event tables of one test's deployment."""

    assets: dict[tuple[str, str], _AssetRow] = field(default_factory=dict)
    alias_assets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Which assets each alias resolved to, in the order events were emitted through it."""
    events: list[AssetEventRecord] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    # -- the asset table: what the DAG processor makes active --------------------------------------

    def learn(self, objects: Iterable[Any]) -> None:
        """Make the assets named here active, as parsing the DAGs that name them does."""
        for obj in objects:
            if _kind(obj) == "Asset":
                self.assets.setdefault((obj.name, obj.uri), _row_of(obj))

    def learn_dag(self, dag: Any) -> None:
        self.learn(dag_assets(dag))

    def resolve(self, obj: Any) -> list[_AssetRow]:
        """The active assets an asset, reference or alias stands for."""
        kind = _kind(obj)
        if kind == "Asset":
            return [self.assets.get((obj.name, obj.uri)) or _row_of(obj)]
        if kind == "AssetNameRef":
            return [row for (name, _), row in self.assets.items() if name == obj.name][:1]
        if kind == "AssetUriRef":
            return [row for (_, uri), row in self.assets.items() if uri == obj.uri][:1]
        if kind == "AssetAlias":
            return self.alias_rows(obj.name)
        return []

    def alias_rows(self, alias_name: str) -> list[_AssetRow]:
        """The assets events were emitted for through the alias (the asset_alias_asset table)."""
        return [self.assets[key] for key in dict.fromkeys(self.alias_assets.get(alias_name, []))]

    def lookup(self, *, name: str | None = None, uri: str | None = None) -> _AssetRow | None:
        for (row_name, row_uri), row in self.assets.items():
            if (name is None or row_name == name) and (uri is None or row_uri == uri):
                return row
        return None

    # -- events ---------------------------------------------------------------------------------------

    def add(
        self,
        row: _AssetRow,
        extra: Mapping[str, Any] | None,
        *,
        dag_id: str | None,
        run_id: str | None,
        task_id: str | None,
        map_index: int,
        timestamp: datetime,
        source_aliases: tuple[str, ...] = (),
    ) -> AssetEventRecord:
        self.assets.setdefault((row.name, row.uri), row)
        for alias in source_aliases:
            self.alias_assets.setdefault(alias, []).append((row.name, row.uri))
        record = AssetEventRecord(
            uri=row.uri,
            name=row.name,
            extra=dict(extra or {}),
            task_id=task_id,
            map_index=map_index,
            dag_id=dag_id,
            run_id=run_id,
            source_aliases=source_aliases,
            timestamp=timestamp,
            id=next(self._ids),
        )
        self.events.append(record)
        return record

    def register_outcome(
        self, succeed: Any, *, dag_id: str, run_id: str, task_id: str, map_index: int, timestamp: datetime
    ) -> list[AssetEventRecord]:
        """The events a task's ``SucceedTask`` registers (``register_asset_changes_in_db``)."""
        source = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index}
        outlets = list(getattr(succeed, "task_outlets", None) or ())
        outlet_events = list(getattr(succeed, "outlet_events", None) or ())
        extras: dict[tuple[str, str], list[Any]] = {}
        for event in outlet_events:
            if "source_alias_name" in event:
                continue
            key = event["dest_asset_key"]
            extras.setdefault((key["name"], key["uri"]), []).append(event.get("extra"))
        recorded: list[AssetEventRecord] = []
        done: set[tuple[str, str]] = set()
        for profile in outlets:
            rows: list[_AssetRow] = []
            if profile.type == "Asset" and profile.name and profile.uri:
                found = self.assets.get((profile.name, profile.uri))
                rows = [found or _AssetRow(profile.name, profile.uri)]
            elif profile.type == "AssetNameRef" and profile.name:
                rows = [r for r in [self.lookup(name=profile.name)] if r is not None]
            elif profile.type == "AssetUriRef" and profile.uri:
                rows = [r for r in [self.lookup(uri=profile.uri)] if r is not None]
            for row in rows:
                key = (row.name, row.uri)
                if key in done:
                    continue  # the server registers each asset once, from a set
                done.add(key)
                for extra in extras.get(key) or [None]:
                    recorded.append(self.add(row, extra, timestamp=timestamp, **source))
        alias_names = {p.name for p in outlets if p.type == "AssetAlias" and p.name}
        by_event: dict[tuple[str, str, str, str], list[str]] = {}
        rows_of: dict[tuple[str, str, str, str], _AssetRow] = {}
        for event in outlet_events:
            alias = event.get("source_alias_name")
            if alias is None or alias not in alias_names:
                continue
            key = event["dest_asset_key"]
            asset_extra = event.get("dest_asset_extra") or {}
            group_key = (
                key["name"],
                key["uri"],
                json.dumps(asset_extra, sort_keys=True),
                json.dumps(event.get("extra"), sort_keys=True),
            )
            by_event.setdefault(group_key, [])
            if alias not in by_event[group_key]:
                by_event[group_key].append(alias)
            rows_of[group_key] = self.assets.get((key["name"], key["uri"])) or _AssetRow(
                key["name"], key["uri"], extra=dict(asset_extra)
            )
        for group_key, aliases in by_event.items():
            extra = json.loads(group_key[3])
            recorded.append(
                self.add(
                    rows_of[group_key], extra, timestamp=timestamp, source_aliases=tuple(aliases), **source
                )
            )
        return recorded

    def query(
        self,
        *,
        name: str | None = None,
        uri: str | None = None,
        alias_name: str | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        limit: int | None = None,
        ascending: bool = True,
    ) -> list[AssetEventRecord]:
        """The asset-events route: events of an asset (by name and/or URI) or of an alias, by time."""
        if alias_name is not None:
            found = [e for e in self.events if alias_name in e.source_aliases]
        else:
            found = [
                e for e in self.events if (name is None or e.name == name) and (uri is None or e.uri == uri)
            ]
        found = [
            e
            for e in found
            if (after is None or e.timestamp is None or e.timestamp >= after)
            and (before is None or e.timestamp is None or e.timestamp <= before)
        ]
        found.sort(key=lambda e: e.id, reverse=not ascending)
        return found[:limit] if limit is not None else found

    def seed(self, given: Any, *, timestamp: datetime) -> list[AssetEventRecord]:
        """Events that happened before the test: ``{asset_or_uri: [extra_or_record, ...]}`` (or a list of
        such pairs: an Asset is not hashable before Airflow 3.2)."""
        added = []
        pairs = given.items() if isinstance(given, Mapping) else given
        for target, items in pairs:
            row = self._seed_target(target)
            for item in items:
                if isinstance(item, AssetEventRecord):
                    source = {
                        "dag_id": item.dag_id,
                        "run_id": item.run_id,
                        "task_id": item.task_id,
                        "map_index": item.map_index,
                    }
                    added.append(
                        self.add(
                            row,
                            item.extra,
                            timestamp=item.timestamp or timestamp,
                            source_aliases=item.source_aliases,
                            **source,
                        )
                    )
                    continue
                if item is not None and not isinstance(item, Mapping):
                    raise TypeError(_msgs.asset_event_extra_not_mapping(row.uri, item))
                added.append(
                    self.add(
                        row, item, dag_id=None, run_id=None, task_id=None, map_index=-1, timestamp=timestamp
                    )
                )
        return added

    def _seed_target(self, target: Any) -> _AssetRow:
        if isinstance(target, str):
            row = self.lookup(uri=target) or self.lookup(name=target)
            return row or _AssetRow(target, target)
        if _kind(target) == "Asset":
            return self.assets.get((target.name, target.uri)) or _row_of(target)
        raise TypeError(_msgs.asset_events_key_not_asset(target))


def condition_met(condition: Any, table: AssetTable, updated: set[tuple[str, str]]) -> bool:
    """``AssetEvaluator.run``: whether ``condition`` holds when the assets in ``updated`` have new events."""
    kind = _kind(condition)
    objects = getattr(condition, "objects", None)
    if objects is not None:
        results = (condition_met(obj, table, updated) for obj in objects)
        return all(results) if kind == "AssetAll" else any(results)
    if kind == "AssetAlias":
        return any((row.name, row.uri) in updated for row in table.resolve(condition))
    rows = table.resolve(condition)
    return bool(rows) and (rows[0].name, rows[0].uri) in updated
