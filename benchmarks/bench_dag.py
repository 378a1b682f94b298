"""run_dag against Airflow's own dag.test() on the same DAG files, warm and cold, as ratios.

    python benchmarks/bench_dag.py [--rounds N]

Warm: the median of the calls after the first in one process (each call gets the next day as logical
date, since dag.test() does not re-run a finished logical date). Cold: a fresh process, including
everything the first call needs: for dag.test() the imports, a metadata DB (a copy of a migrated
template) and the bundle sync; for run_dag the imports and loading the DAG file (the import row shows
what importing Airflow and pytest_xcom alone costs of it). Both sides are
timed inside their own process, on the same DAG files, in this run, so the ratios do not depend on
how loaded the machine is across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAGS = {
    "push_pull (2 tasks)": ("push_pull.py", "bench_push_pull"),
    "chain (20 tasks)": ("chain20.py", "bench_chain20"),
}
LOGICAL_DATE = datetime(2024, 1, 1, tzinfo=UTC)

# Runs in a fresh interpreter: times loading the file and the first call (cold), then each later call.
_OURS = """
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, {tests!r})
from dagfiles import load_dags
import pytest_xcom
import pytest_xcom.runner  # imports Airflow
imported = time.perf_counter() - started
dag = load_dags({path!r})[{dag_id!r}]
calls = []
for day in range(1, {calls} + 1):
    t = time.perf_counter()
    result = pytest_xcom.run_dag(dag, logical_date="2024-01-%02d" % day)
    calls.append(time.perf_counter() - t)
    assert result.state == "success", result.task_states
    if day == 1:
        cold = time.perf_counter() - started
print(json.dumps({{"cold": cold, "calls": calls, "imports": imported}}))
"""


def ours(path: Path, dag_id: str, calls: int) -> dict:
    started = time.perf_counter()
    code = _OURS.format(tests=str(HERE.parent / "tests"), path=str(path), dag_id=dag_id, calls=calls)
    # The same Airflow config as the dag.test() side, which runs without the example plugins.
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    timings = json.loads(out.stdout.strip().splitlines()[-1])
    timings["process"] = time.perf_counter() - started
    return timings


def theirs(path: Path, dag_id: str, calls: int) -> dict:
    from pytest_xcom._dagtest import run_dag_test

    started = time.perf_counter()
    outcome = run_dag_test(path, dag_id, logical_date=LOGICAL_DATE, repeat=calls)
    assert set(outcome.states_per_call) == {"success"}, outcome.states_per_call
    return {
        "cold": outcome.setup_seconds + outcome.seconds_per_call[0],
        "calls": list(outcome.seconds_per_call),
        "process": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per side and DAG (median)")
    parser.add_argument("--calls", type=int, default=4, help="calls per process; warm = median after the 1st")
    args = parser.parse_args()

    print(f"{'DAG':<22} {'':>6} {'dag.test()':>12} {'run_dag':>10} {'ratio':>8}")
    for label, (file_name, dag_id) in DAGS.items():
        path = HERE / "dags" / file_name
        samples = {"theirs": [theirs(path, dag_id, args.calls) for _ in range(args.rounds)]}
        samples["ours"] = [ours(path, dag_id, args.calls) for _ in range(args.rounds)]
        rows = {
            "warm": lambda s: statistics.median(s["calls"][1:]),
            "cold": lambda s: s["cold"],
            "process": lambda s: s["process"],
        }
        for name, pick in rows.items():
            real = statistics.median(pick(s) for s in samples["theirs"])
            fake = statistics.median(pick(s) for s in samples["ours"])
            print(f"{label:<22} {name:>6} {real * 1000:>10.1f}ms {fake * 1000:>8.1f}ms {real / fake:>7.1f}x")
        imports = statistics.median(s["imports"] for s in samples["ours"])
        print(f"{label:<22} {'import':>6} {'':>12} {imports * 1000:>8.1f}ms  (Airflow, pytest_xcom; in cold)")


if __name__ == "__main__":
    main()
