"""How run_dag and xcom_pull scale: per-task cost at 50 and at 1000 tasks, and with a full store.

    python benchmarks/bench_scale.py [--small 50] [--large 1000] [--filler 100000] [--rounds 3]

Each figure is a ratio of two timings taken in this process, in this run (median of ``--rounds``), in
CPU seconds of this process: nothing here waits, and other processes on a shared machine then change the
figures far less than they change wall time:
- a chain of N tasks (each adds one to what the one before returned): seconds per task at ``--large``
  over seconds per task at ``--small``;
- a task mapped over N items (and a task reducing them): seconds per mapped instance, the same ratio;
- a 20-task chain run with ``--filler`` XComs of other DAGs and runs in the store, over the same run with
  an empty store;
- one ``xcom_pull`` (``task_context``'s task instance, Airflow's own pull) from a store holding
  ``--filler`` other XComs, over the same pull from a store holding only the pulled XCom.
Goals (issue 10): the first three <= 1.3x, 1.3x and 1.5x; the pull about 1x.

Part of each per-task cost grows with the DAG in Airflow itself, and a worker pays it too: for every
task it runs, Airflow's task runner asks the task for its mapped dependants (``_push_xcom_if_needed``),
which walks every node of the DAG; and each instance of a mapped task resolves its argument by pulling
the whole upstream list (``xcom_pull``, serde and the comms frame for N items). The rows under each
ratio time that part alone, per task, on the same sizes, and give the ratio of what is left.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def chain_dag(n: int):
    from airflow.sdk import DAG, task

    with DAG(f"chain_{n}", schedule=None) as dag:

        @task
        def step(previous: int | None = None) -> int:
            return (previous or 0) + 1

        value = step.override(task_id="step_0")()
        for i in range(1, n):
            value = step.override(task_id=f"step_{i}")(value)
    return dag


def mapped_dag(n: int):
    from airflow.sdk import DAG, task

    with DAG(f"mapped_{n}", schedule=None) as dag:

        @task
        def items() -> list[int]:
            return list(range(n))

        @task
        def double(x: int) -> int:
            return 2 * x

        @task
        def total(values) -> int:
            return sum(values)

        total(double.expand(x=items()))
    return dag


def fill(store, count: int) -> None:
    """``count`` XComs of other DAGs and runs, written as the API server writes rows."""
    for i in range(count):
        store.put_json(f"other_dag_{i % 50}", f"run_{i // 50}", f"task_{i % 7}", -1, "return_value", str(i))


def timed(call: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        gc.collect()
        started = time.process_time()
        call()
        samples.append(time.process_time() - started)
    return statistics.median(samples)


def airflow_walk(dag, rounds: int) -> float:
    """Seconds per task of the walk Airflow's task runner makes over the DAG for each task it runs."""
    tasks = list(dag.tasks)

    def walk() -> None:
        for task in tasks:
            next(task.iter_mapped_dependants(), None)

    return timed(walk, rounds) / len(tasks)


def list_pull(n: int, rounds: int) -> float:
    """Seconds of one ``xcom_pull`` of an n-item list, as each instance of the mapped task makes."""
    from pytest_xcom import XComStore
    from pytest_xcom.comms import installed
    from pytest_xcom.context import TaskContextFactory

    store = XComStore()
    with installed(store.channel()):
        factory = TaskContextFactory(store=store)
        try:
            factory("items")["ti"].xcom_push("return_value", list(range(n)))
            ti = factory("double")["ti"]
            pulls = 20

            def pull_many() -> None:
                for _ in range(pulls):
                    ti.xcom_pull(task_ids="items")

            return timed(pull_many, rounds) / pulls
        finally:
            factory.close()


def run_once(dag, store=None) -> None:
    from pytest_xcom import XComStore, run_dag

    result = run_dag(dag, store=store if store is not None else XComStore(), logical_date="2024-01-01")
    assert result.state == "success", {k: v for k, v in result.task_states.items() if v != "success"}


def pull_cost(filler: int, rounds: int) -> float:
    from pytest_xcom import XComStore
    from pytest_xcom.comms import installed
    from pytest_xcom.context import TaskContextFactory

    store = XComStore()
    fill(store, filler)
    with installed(store.channel()):
        factory = TaskContextFactory(store=store)
        try:
            factory("upstream")["ti"].xcom_push("k", {"a": 1})
            ti = factory("downstream")["ti"]
            pulls = 200

            def pull_many() -> None:
                for _ in range(pulls):
                    ti.xcom_pull(task_ids="upstream", key="k")

            return timed(pull_many, rounds) / pulls
        finally:
            factory.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--filler", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from pytest_xcom import XComStore

    run_once(chain_dag(3))  # imports and first-use costs, outside every timing
    print(f"{'':44} {'small':>10} {'large':>10} {'ratio':>7}")

    def row(label: str, small: float, large: float, unit: str = "ms") -> None:
        scale = 1e3 if unit == "ms" else 1e6
        print(f"{label:44} {small * scale:8.2f}{unit} {large * scale:8.2f}{unit} {large / small:6.2f}x")

    for kind, build in (("chain", chain_dag), ("mapped", mapped_dag)):
        small_dag, large_dag = build(args.small), build(args.large)
        small = timed(lambda d=small_dag: run_once(d), args.rounds) / args.small
        large = timed(lambda d=large_dag: run_once(d), args.rounds) / args.large
        row(f"{kind}: per task, {args.small} vs {args.large} tasks", small, large)
        if kind == "chain":
            part_small = airflow_walk(small_dag, args.rounds)
            part_large = airflow_walk(large_dag, args.rounds)
            row("  of which Airflow's walk for mapped dependants", part_small, part_large)
        else:
            part_small, part_large = list_pull(args.small, args.rounds), list_pull(args.large, args.rounds)
            row("  of which pulling the whole list to map over", part_small, part_large)
        row("  the rest", small - part_small, large - part_large)

    dag20 = chain_dag(20)
    empty = timed(lambda: run_once(dag20), args.rounds)
    full_store = XComStore()
    fill(full_store, args.filler)
    full = timed(lambda: run_once(dag20, full_store), args.rounds)
    row(f"20-task chain: empty store vs {args.filler:,} XComs", empty, full)

    row(
        f"xcom_pull: 1 XCom vs {args.filler:,} in the store",
        pull_cost(0, args.rounds),
        pull_cost(args.filler, args.rounds),
        unit="us",
    )


if __name__ == "__main__":
    main()
