"""Memory over a long session: RSS growth per 1000 tests using pytest_xcom, beyond an empty test's.

    python benchmarks/bench_memory.py [--tests 3000]

Two pytest sessions run in subprocesses: "fixtures" (each test runs a task through ``run_task``, which
logs, and does a push/pull through ``task_context``; every tenth test fails, so reports with
pytest_xcom's section are kept too) and "empty" (tests that do nothing: what pytest itself keeps per
test). A small plugin records the process's resident memory after every 500th test. Growth per 1000
tests is measured from test 1000 on (the first tests pay for imports and caches) and the empty
session's growth is subtracted. Goal (issue 14): <= 2 MB per 1000 tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

RSS_PLUGIN = """
import json, os

_rss = {}
_count = [0]

def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def pytest_runtest_logfinish(nodeid, location):
    _count[0] += 1
    if _count[0] % 500 == 0:
        import gc
        gc.collect()
        _rss[_count[0]] = _rss_mb()

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_MEMORY_OUT"], "w") as f:
        json.dump(_rss, f)
"""

FIXTURES = """
import pytest
import structlog
from airflow.sdk import DAG, task

with DAG("memory_dag", schedule=None) as dag:

    @task
    def summarise(n: int = 0) -> dict:
        structlog.get_logger().info("summarising", n=n, detail="x" * 200)
        return {{"n": n, "items": list(range(20))}}

    summarise()


@pytest.mark.parametrize("n", range({count}))
def test_memory(n, run_task, task_context):
    result = run_task(dag.task_dict["summarise"])
    ti = task_context("pusher")["ti"]
    ti.xcom_push(key="k", value={{"n": n, "text": "y" * 500}})
    assert task_context("puller")["ti"].xcom_pull(task_ids="pusher", key="k")["n"] == n
    assert result.state == "success" and n % 10 != 9
"""

EMPTY = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_memory(n):
    assert n % 10 != 9
"""


def session(workdir: Path, name: str, template: str, count: int) -> dict[int, float]:
    (workdir / "bench_rss.py").write_text(RSS_PLUGIN)
    test_file = workdir / f"test_{name}.py"
    test_file.write_text(textwrap.dedent(template.format(count=count)))
    out = workdir / f"{name}.json"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "BENCH_MEMORY_OUT": str(out)}
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    args = ["-q", "-p", "pytest_xcom", "-p", "bench_rss", "-p", "no:cacheprovider", test_file.name]
    subprocess.run([sys.executable, "-m", "pytest", *args], cwd=workdir, env=env, capture_output=True)
    return {int(k): v for k, v in json.loads(out.read_text()).items()}


def growth_per_1000(rss: dict[int, float]) -> float:
    start, end = 1000, max(rss)
    return (rss[end] - rss[start]) / (end - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=3000, help="tests per session (at least 2000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_memory_") as tmp:
        workdir = Path(tmp)
        ours = session(workdir, "fixtures", FIXTURES, args.tests)
        empty = session(workdir, "empty", EMPTY, args.tests)
    print(f"RSS (MB) after N tests, {args.tests} tests per session, every tenth failing")
    print(f"  {'N':>6} {'fixtures':>10} {'empty':>10}")
    for n in sorted(ours):
        print(f"  {n:>6} {ours[n]:10.1f} {empty.get(n, float('nan')):10.1f}")
    mine, base = growth_per_1000(ours), growth_per_1000(empty)
    print(f"growth per 1000 tests from test 1000: fixtures {mine:.2f} MB, empty {base:.2f} MB")
    print(f"  beyond what pytest keeps: {mine - base:+.2f} MB per 1000 tests (goal <= 2 MB)")


if __name__ == "__main__":
    main()
