"""A fixed sample of the fuzzer's random DAGs (tests/dag_fuzzer.py): dag.test() and run_dag must agree.

Seeds in KNOWN_DIFFERENCES are DAGs on which run_dag still differs from dag.test(); a fix that makes
one agree fails here until its seed is taken off the list, as a new difference does. The fuzzer's
own command runs more seeds: ``python tests/dag_fuzzer.py --seeds 0:500``.
"""

from __future__ import annotations

import os

import pytest
from dag_fuzzer import TRIGGER_RULES, classify, fuzz, generate

# CI runs a smaller sample on the older Airflow versions (PYTEST_XCOM_FUZZ_SAMPLE=N: the first N seeds).
SAMPLE = range(0, int(os.environ.get("PYTEST_XCOM_FUZZ_SAMPLE", "50")))

# seed -> what still differs there, as read from Airflow's scheduler code (models/dagrun.py,
# models/taskmap.py, ti_deps/deps/trigger_rule_dep.py). Empty: every seed of the sample agrees.
KNOWN_DIFFERENCES: dict[int, str] = {}


@pytest.mark.slow
def test_run_dag_agrees_with_dag_test_on_a_sample_of_random_dags(tmp_path):
    # One test for the whole sample: the dag.test() side is one batch, paid once per session.
    results = fuzz(SAMPLE, workdir=tmp_path, recheck=lambda seed: seed not in KNOWN_DIFFERENCES)
    assert {r.dag.seed: r.error for r in results if r.error} == {}
    differing = {r.dag.seed: r.comparison for r in results if not r.comparison.identical}
    new = [
        f"seed {seed}: {sorted(classify(comparison))}\n{comparison}"
        for seed, comparison in differing.items()
        if seed not in KNOWN_DIFFERENCES
    ]
    assert not new, "run_dag differs from dag.test() (python tests/dag_fuzzer.py --show SEED):\n" + "\n".join(
        new
    )
    fixed = sorted(set(KNOWN_DIFFERENCES) - set(differing))
    assert not fixed, f"seeds {fixed} now agree with dag.test(): take them off KNOWN_DIFFERENCES"


def test_a_seed_always_gives_the_same_dag():
    assert generate(7).source == generate(7).source
    assert generate(7).source != generate(8).source
    assert generate(7, two_runs=True).source == generate(7, two_runs=True).source


def test_the_sample_covers_what_the_generator_can_make():
    features = set().union(*(generate(seed).features for seed in SAMPLE))
    expected = {
        "branch",
        "short_circuit",
        "mapped over literal",
        "mapped over XComArg",
        "mapped over mapped",
        "zero-length map",
        "cross product",
        "expand_kwargs",
        "mapped task group",
        "mapped task group expand_kwargs",
        "task group",
        "nested group",
        "setup/teardown",
        "fails",
        "skips",
        "AirflowFailException",
        "fails on a try",
        "fails on its input",
        "fails or skips by map index",
        "retries",
        "multiple_outputs",
        "extra XCom key",
    }
    assert expected <= features, sorted(expected - features)
    rules = {f.removeprefix("trigger_rule ") for f in features if f.startswith("trigger_rule ")}
    assert rules == set(TRIGGER_RULES) - {"all_success"}


def test_two_run_dags_look_at_earlier_runs():
    features = set().union(*(generate(seed, two_runs=True).features for seed in SAMPLE))
    assert {"depends_on_past", "include_prior_dates", "trigger_rule always"} <= features
    source = generate(0, two_runs=True).source
    assert "retry_delay': datetime.timedelta(0)" in source


def test_every_sampled_dag_loads_in_airflow(tmp_path):
    from dagfiles import load_dags

    for seed in SAMPLE:
        generated = generate(seed)
        path = tmp_path / f"{generated.dag_id}.py"
        path.write_text(generated.source)
        dag = load_dags(path)[generated.dag_id]
        assert len(dag.task_dict) == generated.n_tasks
        assert all(task.retry_delay.total_seconds() == 0 for task in dag.tasks)


# Two consecutive runs of each DAG (depends_on_past, wait_for_downstream, include_prior_dates pulls of one
# and of every run, trigger rule always): a smaller sample, each DAG costing two runs and, where its
# first run holds the second, two of dag.test()'s one-second waits.
TWO_RUN_SAMPLE = range(0, int(os.environ.get("PYTEST_XCOM_FUZZ_TWO_RUN_SAMPLE", "20")))


@pytest.mark.slow
def test_run_dag_agrees_with_dag_test_on_two_consecutive_runs_of_random_dags(tmp_path):
    results = fuzz(TWO_RUN_SAMPLE, two_runs=True, workdir=tmp_path)
    assert {r.dag.seed: r.error for r in results if r.error} == {}
    differing = [
        f"seed {r.dag.seed}: {sorted(classify(r.comparison))}\n{r.comparison}"
        for r in results
        if not r.comparison.identical
    ]
    assert not differing, (
        "run_dag differs from dag.test() (python tests/dag_fuzzer.py --two-runs --show SEED):\n"
        + "\n".join(differing)
    )
    features = set().union(*(r.dag.features for r in results))
    assert {"depends_on_past", "wait_for_downstream", "include_prior_dates of every run"} <= features
