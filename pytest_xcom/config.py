"""Setting Airflow config for one test, in Airflow's own config objects, and putting it back afterwards.

Airflow reads config through ``airflow.configuration.conf`` (the scheduler, DAG processor and DagBag) and,
from 3.2, the task SDK's ``airflow.sdk.configuration.conf`` (the task runner). A value set here goes into
both, so every reader sees it; an ``AIRFLOW__SECTION__KEY`` environment variable, which Airflow would
read first, is taken away for the test. Values read once at import time (module constants) do not
change: those need the environment variable before Airflow is imported.
"""

from __future__ import annotations

import configparser
import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_xcom import _msgs

__all__ = ["AirflowConfig", "is_set", "marker_values", "overridden"]

_UNSET = object()


def _config_objects() -> list[Any]:
    from pytest_xcom import _compat

    return _compat.config_parsers()


def _split(key: str) -> tuple[str, str]:
    section, dot, option = key.partition(".")
    if not dot or not section or not option:
        raise KeyError(_msgs.airflow_config_key(key))
    return section.lower(), option.lower()


def _env_name(section: str, option: str) -> str:
    return f"AIRFLOW__{section.upper()}__{option.upper()}"


def is_set(key: str) -> bool:
    """Whether the environment or a config layer (airflow.cfg, a test) sets ``key``: Airflow's default
    does not apply to it."""
    section, option = _split(key)
    return _env_name(section, option) in os.environ or any(
        configparser.ConfigParser.has_option(parser, section, option) for parser in _config_objects()
    )


def _as_text(value: Any) -> str:
    # airflow.cfg holds text; Airflow's getboolean reads "True"/"False".
    return str(value)


@dataclass
class AirflowConfig:
    """Airflow config for one test: ``airflow_config["core.dagbag_import_timeout"] = 5``.

    Keys are ``"section.key"`` as in airflow.cfg. Reading a key gives what Airflow reads (``conf.get``).
    Setting ``None`` removes a value set in airflow.cfg or by this test, so Airflow's default applies.
    Everything is put back by :meth:`restore` (the fixture calls it after the test, also on failure).
    """

    _saved: dict[tuple[int, str, str], Any] = field(default_factory=dict, repr=False)
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)

    def __getitem__(self, key: str) -> str:
        section, option = _split(key)
        return _config_objects()[0].get(section, option)

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def set(self, key: str, value: Any) -> None:
        section, option = _split(key)
        env = _env_name(section, option)
        if env not in self._saved_env:
            self._saved_env[env] = os.environ.get(env)
        os.environ.pop(env, None)
        for number, parser in enumerate(_config_objects()):
            if (number, section, option) not in self._saved:
                # The parser's own layer (airflow.cfg and earlier sets), not Airflow's defaults.
                had = configparser.ConfigParser.has_option(parser, section, option)
                self._saved[(number, section, option)] = (
                    configparser.ConfigParser.get(parser, section, option, raw=True) if had else _UNSET
                )
            if value is None:
                if configparser.ConfigParser.has_section(parser, section):
                    configparser.ConfigParser.remove_option(parser, section, option)
                continue
            if not configparser.ConfigParser.has_section(parser, section):
                parser.add_section(section)
            parser.set(section, option, _as_text(value))

    def update(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            self.set(key, value)

    def restore(self) -> None:
        """Put back every value and environment variable this object changed."""
        parsers = _config_objects()
        for (number, section, option), value in reversed(list(self._saved.items())):
            parser = parsers[number]
            if value is _UNSET:
                if configparser.ConfigParser.has_section(parser, section):
                    configparser.ConfigParser.remove_option(parser, section, option)
            else:
                parser.set(section, option, value)
        for env, value in self._saved_env.items():
            if value is None:
                os.environ.pop(env, None)
            else:
                os.environ[env] = value
        self._saved.clear()
        self._saved_env.clear()


def marker_values(markers: Iterable[Any]) -> dict[str, Any]:
    """The config the ``airflow_config`` markers of a test ask for; the closest marker wins."""
    values: dict[str, Any] = {}
    for marker in reversed(list(markers)):  # iter_markers gives the closest first
        for arg in marker.args:
            values.update(arg)
    return values


@contextlib.contextmanager
def overridden(values: Mapping[str, Any]) -> Iterator[AirflowConfig]:
    """Airflow config set to ``values`` for the block, restored after it."""
    config = AirflowConfig()
    try:
        config.update(values)
        yield config
    finally:
        config.restore()
