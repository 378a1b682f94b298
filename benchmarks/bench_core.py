"""What a push/pull test costs through pytest_xcom's fixtures, next to the same test with MagicMock.

    python benchmarks/bench_core.py [--tests 200] [--sessions 3] [--startup-rounds 30]

Per test: four generated test modules of N tests each run as real pytest sessions in subprocesses, the
variants taking turns for ``--sessions`` rounds:
"fixtures" (task_context + xcom_store: Airflow's template context, xcom_push/xcom_pull through the comms
frame and JSON), "MagicMock" (the usual MagicMock task instance with a dict behind push/pull),
"MagicMock+AF" (the same in a module that imports Airflow, as a module testing a DAG's callables does:
pytest then pays per test for Airflow's many loggers) and
"empty" (a test that does nothing: the baseline). A small plugin in each session records the CPU time
of the session's process in each test's setup, call and teardown (other processes on a shared machine
change it far less than wall time); a test's cost is their sum, and the figures are the median over
the tests of every session of the variant (so Airflow's one-time import in a session's first test, and
a busy moment of the machine, do not count) and the mean over all but each session's first test. "net"
subtracts the empty test's median.

Start-up: a whole ``python -m pytest`` process running one test that uses no fixture, plugin
autoloading off, the variants taking turns round after round: the plugins an environment with Airflow
registers (anyio's: the baseline); those and pytest_xcom; those and hypothesis's plugin too, which every
session paid before hypothesis became the ``pytest-xcom[hypothesis]`` extra; and no plugin at all. Each
session is measured in CPU time (user + system of the process, which other processes on a shared
machine barely change) and in wall time; the median and the minimum over the rounds are compared with the
baseline's. Bytecode is written and a first round is not counted, as for an installed package (this
machine sets PYTHONDONTWRITEBYTECODE, which would recompile the plugin in every session). Every ratio is
against a baseline measured in the same run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TIMER_PLUGIN = """
import contextlib, json, os, time

import pytest

_costs = {}


@contextlib.contextmanager
def _charged(item):
    # The CPU time of the block, added to the test's: its setup, call and teardown together.
    started = time.process_time()
    try:
        yield
    finally:
        _costs[item.nodeid] = _costs.get(item.nodeid, 0.0) + time.process_time() - started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    with _charged(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    with _charged(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    with _charged(item):
        return (yield)


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_CORE_OUT"], "w") as f:
        json.dump(list(_costs.values()), f)
"""

CALLABLES = """
def push_order(ti, **context):
    ti.xcom_push(key="order", value={"order_id": context["n"], "items": ["apple", "pear"], "total": 12.5})


def pull_order(ti, **context):
    order = ti.xcom_pull(task_ids="push_order", key="order")
    return f"{order['order_id']}: {len(order['items'])} items"
"""

_MAGICMOCK = """
from unittest.mock import MagicMock

import pytest

{callables}

@pytest.mark.parametrize("n", range({count}))
def test_push_pull(n):
    pushed = {{}}
    ti = MagicMock()
    ti.xcom_push.side_effect = lambda key, value: pushed.__setitem__(key, value)
    ti.xcom_pull.side_effect = lambda task_ids, key: pushed[key]
    push_order(ti=ti, n=n)
    assert pull_order(ti=ti, n=n) == f"{{n}}: 2 items"
"""

VARIANTS = {
    "fixtures": """
import pytest

{callables}

@pytest.mark.parametrize("n", range({count}))
def test_push_pull(n, task_context):
    push_order(**task_context("push_order"), n=n)
    assert pull_order(**task_context("pull_order"), n=n) == f"{{n}}: 2 items"
""",
    "MagicMock": _MAGICMOCK,
    # The same test in a module that imports Airflow, as a module testing a DAG's callables does.
    "MagicMock+AF": _MAGICMOCK.replace(
        "import pytest\n", "import airflow.sdk  # noqa: F401\nimport pytest\n", 1
    ),
    "empty": """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_nothing(n):
    pass
""",
}

# Only what the comparison needs: no random order, no cache, no other plugins.
PYTEST_ARGS = ["-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:xdist"]


def run_pytest(
    workdir: Path, test_file: str, plugin_args: list[str], out: Path | None = None
) -> tuple[float, float]:
    """Run one pytest session in a subprocess; its wall time and CPU time (user + system) in seconds."""
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "BENCH_CORE_OUT": str(out or "")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *PYTEST_ARGS, *plugin_args, test_file],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"pytest {test_file} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, cpu


def per_test(workdir: Path, count: int, sessions: int) -> dict[str, tuple[float, float]]:
    """(median, mean without each session's first test) CPU seconds per test of each variant, over
    ``sessions`` sessions of each, the variants taking turns."""
    (workdir / "bench_timer.py").write_text(TIMER_PLUGIN)
    durations: dict[str, list[float]] = {name: [] for name in VARIANTS}
    later: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for name, template in VARIANTS.items():
        test_file = f"test_{name.lower()}.py"
        (workdir / test_file).write_text(textwrap.dedent(template.format(callables=CALLABLES, count=count)))
    for _ in range(sessions):
        for name in VARIANTS:
            out = workdir / f"{name}.json"
            run_pytest(workdir, f"test_{name.lower()}.py", ["-p", "pytest_xcom", "-p", "bench_timer"], out)
            session = json.loads(out.read_text())
            if len(session) != count:
                raise SystemExit(f"{name}: expected {count} tests, timed {len(session)}")
            durations[name] += session
            later[name] += session[1:]
    return {name: (statistics.median(durations[name]), statistics.fmean(later[name])) for name in VARIANTS}


# Airflow comes with anyio's pytest plugin (through httpx): a session testing Airflow code has it whether
# pytest_xcom is installed or not. hypothesis's came with pytest_xcom until it became an extra.
BASELINE, INSTALLED = "Airflow installed (baseline)", "+ pytest_xcom"
STARTUP_VARIANTS = {
    BASELINE: ["-p", "no:pytest_xcom", "-p", "anyio.pytest_plugin"],
    INSTALLED: ["-p", "anyio.pytest_plugin", "-p", "pytest_xcom"],
    "+ hypothesis's plugin (as before)": [
        *("-p", "anyio.pytest_plugin", "-p", "pytest_xcom", "-p", "_hypothesis_pytestplugin")
    ],
    "no plugin at all": ["-p", "no:pytest_xcom"],
}


def startup(workdir: Path, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of each round of each start-up variant."""
    (workdir / "test_startup.py").write_text("def test_one():\n    pass\n")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in STARTUP_VARIANTS}
    for round_ in range(rounds + 1):
        for name, args in STARTUP_VARIANTS.items():
            measured = run_pytest(workdir, "test_startup.py", args)
            if round_:  # the first round writes the bytecode
                times[name].append(measured)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=200, help="generated tests per session (default 200)")
    parser.add_argument("--sessions", type=int, default=3, help="sessions of each per-test variant")
    parser.add_argument("--startup-rounds", type=int, default=30, help="runs of each start-up session")
    args = parser.parse_args()
    if args.tests < 2:
        parser.error("--tests must be at least 2")

    with tempfile.TemporaryDirectory(prefix="bench_core_") as tmp:
        workdir = Path(tmp)
        costs = per_test(workdir, args.tests, args.sessions)
        startup_times = startup(workdir, args.startup_rounds)

    empty = costs["empty"][0]
    print(
        f"per-test CPU time of a push/pull test: setup + call + teardown, {args.tests} tests per session, "
        f"{args.sessions} sessions of each"
    )
    print(f"  {'':10} {'median':>10} {'net of empty':>13} {'mean (not 1st)':>15}")
    for name, (median, mean) in costs.items():
        net = f"{(median - empty) * 1e6:10.0f} us" if name != "empty" else f"{'(baseline)':>13}"
        print(f"  {name:10} {median * 1e6:7.0f} us {net} {mean * 1e6:12.0f} us")
    fixtures = costs["fixtures"][0]
    for baseline in ("MagicMock", "MagicMock+AF"):
        mock = costs[baseline][0]
        print(
            f"  fixtures / {baseline}: {fixtures / mock:.2f}x (medians), "
            f"{(fixtures - empty) / (mock - empty):.2f}x net of the empty test"
        )

    print(f"start-up: a one-test session using no fixture, {args.startup_rounds} rounds; ms, and ms added")
    print(f"  {'':34} {'CPU median':>16} {'CPU min':>16} {'wall median':>16}")
    figures = {
        name: (
            statistics.median(cpu for _, cpu in times),
            min(cpu for _, cpu in times),
            statistics.median(wall for wall, _ in times),
        )
        for name, times in startup_times.items()
    }
    base = figures[BASELINE]
    for name, values in figures.items():
        cells = " ".join(f"{v * 1e3:7.0f} {(v - b) * 1e3:+7.0f} " for v, b in zip(values, base, strict=True))
        print(f"  {name:34} {cells}")
    added = [(v - b) * 1e3 for v, b in zip(figures[INSTALLED], base, strict=True)]
    print(
        f"  installing pytest_xcom adds {added[0]:+.0f} ms CPU (median), {added[1]:+.0f} ms (min), "
        f"{added[2]:+.0f} ms wall (median); goal <= 50 ms"
    )


if __name__ == "__main__":
    main()
