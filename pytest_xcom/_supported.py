"""Which Airflow versions pytest_xcom supports, answerable without importing Airflow.

The plugin checks the installed distribution when pytest loads it (importing Airflow would cost every
session a second); ``_compat`` checks the imported Airflow itself.
"""

from __future__ import annotations

from importlib import metadata

from packaging.version import Version

from pytest_xcom import _msgs

SUPPORTED_MINORS = ((3, 0), (3, 1), (3, 2), (3, 3))


def is_supported(version: str) -> bool:
    return Version(version).release[:2] in SUPPORTED_MINORS


def unsupported_installed_airflow() -> str | None:
    """Why the installed apache-airflow cannot be used (Airflow 2, an unknown minor), or None."""
    try:
        found = metadata.version("apache-airflow")
    except metadata.PackageNotFoundError:
        # apache-airflow-core alone (without the meta-package) is a valid Airflow 3 install too.
        try:
            found = metadata.version("apache-airflow-core")
        except metadata.PackageNotFoundError:
            return None
    return None if is_supported(found) else _msgs.unsupported_airflow(found)
