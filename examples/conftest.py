"""Make the example DAG modules importable by their plain names, wherever pytest is started from.

The fixtures come from pytest_xcom (``pytest -p pytest_xcom examples/``, or its entry point).
"""

import sys
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent

if str(EXAMPLES_DIR) not in sys.path:
    sys.path.insert(0, str(EXAMPLES_DIR))


def pytest_configure(config):
    # One example shows what a failing test's report looks like, by running pytest in pytest. Enabled
    # here rather than with `pytest_plugins`, which pytest refuses in a conftest below the rootdir.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
