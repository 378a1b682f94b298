"""Assets, asset events and the asset state store (the execution API's ``assets``, ``asset_events`` and
``asset_state_store`` routes), from the channel's deployment."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pytest_xcom._compat import ErrorResponse, ErrorType
from pytest_xcom._compat import comms_messages as m
from pytest_xcom.execution_api import ServerError, to_db_json

__all__ = ["HANDLERS"]


def _asset_result(row: Any) -> Any:
    """An asset table row as the API server's asset routes answer it."""
    return m.AssetResult(name=row.name, uri=row.uri, group=row.group, extra=row.extra)


def get_asset(comms: Any, msg: Any) -> Any:
    name, uri = getattr(msg, "name", None), getattr(msg, "uri", None)
    row = comms.deployment.assets.lookup(name=name, uri=uri)
    if row is None:
        detail = {"name": name} if name is not None else {"uri": uri}
        return ErrorResponse(error=ErrorType.ASSET_NOT_FOUND, detail=detail)
    return _asset_result(row)


def get_assets_by_alias(comms: Any, msg: Any) -> Any:
    rows = comms.deployment.assets.alias_rows(msg.alias_name)
    return m.AssetsByAliasResult(assets=[_asset_result(row) for row in rows])


def get_asset_events(comms: Any, msg: Any) -> Any:
    window = {k: getattr(msg, k, None) for k in ("after", "before", "limit")}
    records = comms.deployment.assets.query(
        name=getattr(msg, "name", None),
        uri=getattr(msg, "uri", None),
        alias_name=getattr(msg, "alias_name", None),
        ascending=getattr(msg, "ascending", True),
        **window,
    )
    return m.AssetEventsResult.model_validate(
        {"asset_events": [_asset_event_body(comms, r) for r in records]}
    )


def _asset_event_body(comms: Any, record: Any) -> dict[str, Any]:
    row = comms.deployment.assets.lookup(name=record.name, uri=record.uri)
    return {
        "id": record.id,
        "timestamp": record.timestamp,
        "extra": record.extra,
        "asset": {
            "name": record.name,
            "uri": record.uri,
            "group": row.group if row else "asset",
            "extra": row.extra if row else {},
        },
        "created_dagruns": [],
        "source_task_id": record.task_id,
        "source_dag_id": record.dag_id,
        "source_run_id": record.run_id,
        "source_map_index": record.map_index,
    }


def _asset_state_key(comms: Any, msg: Any) -> tuple[str, str]:
    name, uri = getattr(msg, "name", None), getattr(msg, "uri", None)
    row = comms.deployment.assets.lookup(name=name, uri=uri)
    if row is None:
        raise ServerError(404, "not_found", f"Asset not found: {name or uri!r}")
    return row.name, row.uri


def get_asset_state(comms: Any, msg: Any) -> Any:
    found = comms.deployment.asset_state.get((_asset_state_key(comms, msg), msg.key))
    if found is None:
        return ErrorResponse(error=ErrorType.ASSET_STORE_NOT_FOUND, detail={"key": msg.key})
    return m.AssetStateStoreResult(value=json.loads(found))


def set_asset_state(comms: Any, msg: Any) -> Any:
    comms.deployment.asset_state[(_asset_state_key(comms, msg), msg.key)] = to_db_json(msg.value)
    return m.OKResponse(ok=True)


def delete_asset_state(comms: Any, msg: Any) -> Any:
    comms.deployment.asset_state.pop((_asset_state_key(comms, msg), msg.key), None)
    return m.OKResponse(ok=True)


def clear_asset_state(comms: Any, msg: Any) -> Any:
    asset = _asset_state_key(comms, msg)
    for key in [k for k in comms.deployment.asset_state if k[0] == asset]:
        del comms.deployment.asset_state[key]
    return m.OKResponse(ok=True)


HANDLERS: dict[str, Callable[[Any, Any], Any]] = {
    "GetAssetByName": get_asset,
    "GetAssetByUri": get_asset,
    "GetAssetsByAlias": get_assets_by_alias,
    "GetAssetEventByAsset": get_asset_events,
    "GetAssetEventByAssetAlias": get_asset_events,
    "GetAssetStateStoreByName": get_asset_state,
    "GetAssetStateStoreByUri": get_asset_state,
    "SetAssetStateStoreByName": set_asset_state,
    "SetAssetStateStoreByUri": set_asset_state,
    "DeleteAssetStateStoreByName": delete_asset_state,
    "DeleteAssetStateStoreByUri": delete_asset_state,
    "ClearAssetStateStoreByName": clear_asset_state,
    "ClearAssetStateStoreByUri": clear_asset_state,
}
