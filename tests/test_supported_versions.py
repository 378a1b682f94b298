"""Which Airflow versions pytest_xcom supports: the dependency pin, the compat layer and the plugin agree,
and next to an Airflow it does not support (Airflow 2) pytest stops at start-up saying so."""

from __future__ import annotations

import ast
import tomllib
import types
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from pytest_xcom import _compat, _supported

ROOT = Path(__file__).resolve().parents[1]
COMPAT = ROOT / "pytest_xcom" / "_compat"


def _airflow_requirement() -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return next(Requirement(d) for d in project["dependencies"] if Requirement(d).name == "apache-airflow")


def test_the_dependency_pin_admits_exactly_the_supported_minors():
    pin = _airflow_requirement().specifier

    for major, minor in _supported.SUPPORTED_MINORS:
        assert pin.contains(f"{major}.{minor}.0") and pin.contains(f"{major}.{minor}.99"), (major, minor)
    for outside in ["2.10.5", "2.11.0", "3.4.0", "4.0.0"]:
        assert not pin.contains(outside), outside


def test_the_installed_airflow_is_supported_and_its_module_is_loaded():
    assert _supported.is_supported(_compat.AIRFLOW_VERSION)
    assert _compat._version.__name__ == "pytest_xcom._compat._v{}_{}".format(*_compat.AIRFLOW_MINOR)


def _names_defined(path: Path) -> tuple[list[str], set[str]]:
    """A version module's ``__all__`` and the names it binds at module level (without importing it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared: list[str] = []
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "__all__":
                    declared = list(ast.literal_eval(node.value))
                elif isinstance(target, ast.Name):
                    bound.add(target.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return declared, bound


@pytest.mark.parametrize("minor", _supported.SUPPORTED_MINORS, ids=lambda m: "{}.{}".format(*m))
def test_every_version_module_defines_the_same_names(minor):
    # Only the installed Airflow's module can be imported: the others are read, not run.
    declared, bound = _names_defined(COMPAT / "_v{}_{}.py".format(*minor))

    assert set(declared) == set(_compat.VERSIONED_NAMES)
    assert set(declared) <= bound


def _installed(monkeypatch, versions: dict[str, str]) -> None:
    def version(name: str) -> str:
        if name not in versions:
            raise metadata.PackageNotFoundError(name)
        return versions[name]

    fake = types.SimpleNamespace(version=version, PackageNotFoundError=metadata.PackageNotFoundError)
    monkeypatch.setattr(_supported, "metadata", fake)


@pytest.mark.parametrize(
    ("installed", "supported"),
    [
        ({"apache-airflow": "3.0.6"}, True),
        ({"apache-airflow": "3.3.2"}, True),
        ({"apache-airflow-core": "3.1.8"}, True),
        ({}, True),
        ({"apache-airflow": "2.10.5"}, False),
        ({"apache-airflow": "3.4.0"}, False),
    ],
)
def test_the_installed_distribution_is_checked_without_importing_airflow(monkeypatch, installed, supported):
    _installed(monkeypatch, installed)

    assert (_supported.unsupported_installed_airflow() is None) is supported


def test_next_to_airflow_2_pytest_stops_saying_airflow_2_is_not_supported(pytester, monkeypatch):
    _installed(monkeypatch, {"apache-airflow": "2.10.5"})
    pytester.makepyfile("def test_nothing(): pass")

    result = pytester.runpytest_inprocess("-p", "pytest_xcom")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*pytest_xcom supports Apache Airflow 3.0 to 3.3, not Airflow 2 (found apache-airflow 2.10.5)*"]
    )
