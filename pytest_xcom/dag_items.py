"""The pytest items ``--xcom-dags`` / ``xcom_dags`` collect: one per DAG file, one per DAG.

Each folder is parsed once per session (once per xdist worker) at collection; the items report what
``pytest_xcom.dags`` found. Importing this module does not import Airflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from pytest_xcom import _msgs
from pytest_xcom.dags import DAG_RULES

__all__ = ["DAGS_INI", "RULES_INI", "add_options", "collect", "configured_folders", "dag_folder", "rules"]

DAGS_INI = "xcom_dags"
RULES_INI = "xcom_dag_rules"
FILE_ITEM = "parse"

_PARSED = pytest.StashKey[dict[Path, Any]]()


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("xcom", "pytest_xcom")
    group.addoption(
        "--xcom-dags",
        action="append",
        default=[],
        metavar="PATH",
        help="check the DAG files under PATH as Airflow's DAG processor parses them: one test per file "
        "(import errors, parse timeout, cycles, duplicate dag_ids, Variable/connection/XCom reads at parse "
        "time) and one per DAG (the scheduler's serialization round trip, xcom_dag_rules). Repeatable.",
    )
    parser.addini(DAGS_INI, type="paths", default=[], help="DAG folders to check, as --xcom-dags")
    parser.addini(
        RULES_INI,
        type="args",
        default=[],
        help=f"conventions each DAG of the checked folders must follow: {' '.join(sorted(DAG_RULES))}",
    )


def rules(config: pytest.Config) -> list[str]:
    names = list(config.getini(RULES_INI))
    for name in names:
        if name not in DAG_RULES:
            raise pytest.UsageError(_msgs.unknown_dag_rule(name, DAG_RULES))
    return names


def configured_folders(config: pytest.Config) -> list[Path]:
    """The DAG folders to check: the ini option's (relative to the ini file), then the command line's."""
    folders = [Path(p) for p in config.getini(DAGS_INI)]
    folders += [config.invocation_params.dir / p for p in config.getoption("xcom_dags") or []]
    return list(dict.fromkeys(p.resolve() for p in folders))


def dag_folder(config: pytest.Config, folder: Path) -> Any:
    """The parsed folder, parsed on first use in this session (or xdist worker)."""
    from pytest_xcom.dags import load_dags
    from pytest_xcom.secrets import suite_secrets

    parsed = config.stash.setdefault(_PARSED, {})
    if folder not in parsed:
        secrets = suite_secrets(config)
        parsed[folder] = load_dags(folder, variables=secrets.variables, connections=secrets.connections)
    return parsed[folder]


def collect(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Append the DAG checks of every configured folder to the session's items."""
    folders = configured_folders(session.config)
    if not folders:
        return
    rules(session.config)  # refuse an unknown rule before parsing anything
    for folder in folders:
        if not folder.is_dir():
            raise pytest.UsageError(_msgs.dag_folder_missing(str(folder)))
    for folder in folders:
        try:
            nodeid = folder.relative_to(session.config.rootpath).as_posix()
        except ValueError:
            nodeid = folder.as_posix()
        collector = DagFolderCollector.from_parent(session, name=nodeid, path=folder, nodeid=nodeid)
        items.extend(session.genitems(collector))


class DagCheckFailed(Exception):
    """The problems one DAG file or DAG has."""

    def __init__(self, problems: list[Any]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class DagFolderCollector(pytest.Collector):
    def collect(self) -> list[pytest.Item | pytest.Collector]:
        folder = dag_folder(self.config, self.path)
        files = list(dict.fromkeys([*folder.files, *folder.import_errors]))
        return [
            DagFileCollector.from_parent(
                self, name=file, path=self.path / file, nodeid=f"{self.nodeid}/{file}"
            )
            for file in files
        ]


class DagFileCollector(pytest.Collector):
    @property
    def folder_node(self) -> DagFolderCollector:
        return cast(DagFolderCollector, self.parent)

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        folder = dag_folder(self.config, self.folder_node.path)
        file = self.name
        nodes: list[pytest.Item | pytest.Collector] = [DagFileItem.from_parent(self, name=FILE_ITEM)]
        nodes += [DagItem.from_parent(self, name=dag_id) for dag_id in folder.dags_in(file)]
        return nodes


class _DagCheckItem(pytest.Item):
    @property
    def file_node(self) -> DagFileCollector:
        return cast(DagFileCollector, self.parent)

    def problems(self) -> list[Any]:
        raise NotImplementedError

    def runtest(self) -> None:
        problems = self.problems()
        if problems:
            raise DagCheckFailed(problems)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, DagCheckFailed):
            # Paths as pytest shows them (from the rootdir), so that editors and terminals can open them.
            folder_id = self.file_node.folder_node.nodeid
            return "\n".join(
                f"{folder_id}/{p.file}:{p.line}: {p.cause}\n  fix: {p.fix}" for p in excinfo.value.problems
            )
        return super().repr_failure(excinfo, style=style)

    def folder(self) -> Any:
        return dag_folder(self.config, self.file_node.folder_node.path)


class DagFileItem(_DagCheckItem):
    """Parses as the DAG processor would: no import error, timeout, cycle, duplicate or parse-time read."""

    def problems(self) -> list[Any]:
        return self.folder().file_problems(self.file_node.name)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.file_node.path, 0, f"{self.file_node.name}::{FILE_ITEM}"


class DagItem(_DagCheckItem):
    """One DAG: survives the scheduler's serialization round trip and follows the configured rules."""

    def problems(self) -> list[Any]:
        return self.folder().dag_problems(self.name, rules(self.config))

    def reportinfo(self) -> tuple[Path, int, str]:
        from pytest_xcom.dags import dag_line

        folder = self.folder()
        path = self.file_node.path
        return path, dag_line(path, folder.dags[self.name]) - 1, f"DAG {self.name}"
