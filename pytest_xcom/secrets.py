"""Variables and connections for a whole test suite, read from files in Airflow's local file secrets formats.

The files are what ``LocalFilesystemBackend`` reads (``variables_file_path`` / ``connections_file_path``):
JSON, YAML or ``.env``, parsed by Airflow's own parser, so a file that works here works as a secrets
backend and the other way round. They are named by the ini options ``xcom_variables`` and
``xcom_connections``, read once per session, and given to each test's in-memory API server before the
test runs; what a test sets itself (``variables=``, ``connections=``, ``xcom_comms.variables[...]``) is
written later and wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_xcom import _msgs

__all__ = ["CONNECTIONS_INI", "VARIABLES_INI", "SuiteSecrets", "add_options", "provide", "suite_secrets"]

VARIABLES_INI = "xcom_variables"
CONNECTIONS_INI = "xcom_connections"

_SUITE = pytest.StashKey["SuiteSecrets"]()


@dataclass
class SuiteSecrets:
    """The suite's variables (key -> stored text) and connections (conn_id -> connection fields)."""

    variables: dict[str, str] = field(default_factory=dict)
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)


def add_options(parser: pytest.Parser) -> None:
    parser.addini(
        VARIABLES_INI,
        type="paths",
        default=[],
        help="files of Airflow Variables every test's tasks can read (JSON, YAML or .env, as Airflow's "
        "LocalFilesystemBackend reads them); a test's own variables win",
    )
    parser.addini(
        CONNECTIONS_INI,
        type="paths",
        default=[],
        help="files of Airflow connections every test's tasks can read (JSON, YAML or .env, as Airflow's "
        "LocalFilesystemBackend reads them); a test's own connections win",
    )


def _load_variables(path: str) -> dict[str, Any]:
    """Airflow's parser for a local variables file (to move into _compat; same name 3.0-3.3)."""
    from airflow.secrets.local_filesystem import load_variables

    return load_variables(path)


def _load_connections(path: str) -> dict[str, Any]:
    """Airflow's parser for a local connections file (to move into _compat; same name 3.0-3.3)."""
    from airflow.secrets.local_filesystem import load_connections_dict

    return load_connections_dict(path)


def suite_secrets(config: pytest.Config) -> SuiteSecrets:
    """The suite's variables and connections, read from the ini-named files on first use."""
    found = config.stash.get(_SUITE, None)
    if found is not None:
        return found
    secrets = SuiteSecrets()
    for option, load, into in (
        (VARIABLES_INI, _load_variables, secrets.variables),
        (CONNECTIONS_INI, _load_connections, secrets.connections),
    ):
        for path in config.getini(option):
            if not Path(path).is_file():
                raise pytest.UsageError(_msgs.secrets_file_missing(option, str(path)))
            for key, value in load(str(path)).items():
                into[key] = value
    provided = SuiteSecrets()
    provide(provided, secrets.variables, secrets.connections)
    config.stash[_SUITE] = provided
    return provided


def as_variable_text(value: Any) -> str:
    # Variables are stored as text; a JSON/YAML object is stored as JSON, as `Variable.set` does.
    return value if isinstance(value, str) else json.dumps(value)


def as_connection_fields(conn_id: str, conn: Any) -> dict[str, Any]:
    """A connection (a URI, a dict of its fields, or a Connection) as the API server's fields."""
    if isinstance(conn, (str, Mapping)):
        from pytest_xcom._compat import Connection

        if isinstance(conn, str):
            conn = Connection.from_uri(conn, conn_id=conn_id)
        else:
            conn = Connection(conn_id=conn_id, **conn)
    return {
        "conn_type": conn.conn_type,
        "host": conn.host,
        "schema": conn.schema,
        "login": conn.login,
        "password": conn.password,
        "port": conn.port,
        "extra": conn.extra,
    }


def provide(target: Any, variables: Mapping[str, Any] | None, connections: Mapping[str, Any] | None) -> None:
    """Write variables and connections into ``target``'s ``variables`` / ``connections`` tables.

    ``target`` is an in-memory API server (``InMemorySupervisorComms``) or a :class:`SuiteSecrets`.
    Connections may be URIs, dicts of connection fields, or Connection objects (Airflow's or the SDK's).
    """
    for key, value in (variables or {}).items():
        target.variables[key] = as_variable_text(value)
    for conn_id, conn in (connections or {}).items():
        target.connections[conn_id] = as_connection_fields(conn_id, conn)


def provide_suite(comms: Any, config: pytest.Config) -> None:
    """Give a test's API server the suite's variables and connections (before the test writes its own)."""
    if not (config.getini(VARIABLES_INI) or config.getini(CONNECTIONS_INI)):
        return
    secrets = suite_secrets(config)
    comms.variables.update(secrets.variables)
    comms.connections.update(secrets.connections)
