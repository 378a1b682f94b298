"""A seeded generator of random DAG files, and a differential fuzzer: dag.test() against run_dag.

Each seed gives one DAG file, always the same for the same seed: every trigger rule, branches and
short-circuits, literal and XComArg mapping (``expand``, ``expand_kwargs``, cross products, mapping
over a mapped task's results, zero-length maps), mapped and nested task groups, setup/teardown, tasks
that fail or skip by their id, map index, try number or input, retries (``retry_delay`` 0),
``multiple_outputs`` and extra XCom keys. What a task does is written into the file at generation time
or computed from its inputs, map index and try number; nothing is random at run time, every task ends
at once, and lists are short, so every DAG is finite and quick.

``--two-runs`` adds what looks at an earlier run (depends_on_past, wait_for_downstream, xcom_pull
with include_prior_dates) and trigger rule ``always`` (teardowns too), and runs each DAG twice, a day
apart, on one metadata DB (and one in-memory store). A task its earlier run holds (depends_on_past)
would make dag.test() wait for ever: it gives up after two of its one-second waits and the run is
compared as left, ``running``.

    python tests/dag_fuzzer.py --seeds 0:200              # run, compare, print differences by class
    python tests/dag_fuzzer.py --show 17                   # print seed 17's DAG file
    PYTHONPATH=/other/checkout python tests/dag_fuzzer.py  # fuzz another checkout's run_dag

The dag.test() side runs in batches (one subprocess per batch, ``pytest_xcom._dagtest.run_dag_tests``)
and run_dag in this process. Comparison is ``pytest_xcom.compare.compare_outcomes``: a value that
differs is checked against a second dag.test() run and left out only where real Airflow varies.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import importlib.util
import io
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

LOGICAL_DATE = datetime(2024, 1, 1, tzinfo=UTC)


def _airflow_minor() -> tuple[int, int]:
    # From the package metadata: generating a DAG file needs no Airflow import.
    major, minor = importlib.metadata.version("apache-airflow").split(".")[:2]
    return int(major), int(minor)


# Every trigger rule the installed Airflow has (Airflow 3.0 refuses all_done_min_one_success when the
# task is built). A seed therefore names the same DAG on every Airflow of the same rule set.
TRIGGER_RULES = (
    "all_success",
    "all_failed",
    "all_done",
    *(("all_done_min_one_success",) if _airflow_minor() >= (3, 1) else ()),
    "all_done_setup_success",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "all_skipped",
)

# -- the DAG model --------------------------------------------------------------------------------------


@dataclass
class Node:
    """One task (or, kind "group", one mapped task group) of a generated DAG."""

    name: str
    kind: str  # task, list, kwlist, multi, branch, short, mapped, mapped_kw, setup, teardown, group
    group: tuple[str, ...] = ()  # enclosing plain task groups
    mapped_group: str | None = None  # the mapped task group this task is in
    data: list[tuple[Node, str | None]] = field(default_factory=list)  # (upstream, key) per argument
    after: list[Node] = field(default_factory=list)  # plain dependencies
    trigger_rule: str = "all_success"
    retries: int = 0
    spec: dict[str, Any] = field(default_factory=dict)
    expand: Any = None  # (arg name, Node or literal list), for mapped tasks and mapped groups
    expand2: Any = None  # a second literal expand argument: a cross product
    partial: dict[str, Any] = field(default_factory=dict)
    branch_to: list[str] = field(default_factory=list)
    short_result: bool = True
    ignore_downstream: bool = True
    fail_dagrun: bool = False
    depends_on_past: bool = False
    wait_for_downstream: bool = False
    pull_prior: str | None = None
    pull_all: str | None = None  # an upstream whose values of every run so far the task pushes
    inner: list[Node] = field(default_factory=list)  # a mapped group's tasks

    @property
    def task_id(self) -> str:
        groups = (*self.group, *([self.mapped_group] if self.mapped_group else []))
        return ".".join((*groups, self.name))

    @property
    def var(self) -> str:
        return f"v_{self.name}"


@dataclass
class GeneratedDag:
    seed: int
    dag_id: str
    source: str
    features: frozenset[str]
    n_tasks: int
    two_runs: bool


class Generator:
    """Random DAGs from one seed: ``Generator(seed).dag()``."""

    def __init__(self, seed: int, *, two_runs: bool = False, max_nodes: int = 9) -> None:
        self.seed = seed
        self.rnd = random.Random(seed)
        self.two_runs = two_runs
        self.max_nodes = max_nodes
        self.nodes: list[Node] = []  # top level and plain-group tasks, and mapped groups, in order
        self.features: set[str] = set()
        self.counter = 0

    # -- structure

    def dag(self) -> GeneratedDag:
        rnd = self.rnd
        target = rnd.randint(2, self.max_nodes)
        while self._count() < target:
            roll = rnd.random()
            if roll < 0.12 and len(self.nodes) >= 1:
                self._mapped_group()
            elif roll < 0.24:
                group = (f"g{self._next()}",)
                if rnd.random() < 0.3:
                    group = (*group, f"g{self._next()}")
                    self.features.add("nested group")
                self.features.add("task group")
                for _ in range(rnd.randint(1, 3)):
                    self._task(group)
            else:
                self._task(())
        if rnd.random() < 0.25:
            self._setup_teardown()
        self._finish_branches()
        if self.two_runs:
            self._note_past_dependencies()
        dag_id = f"fuzz_{self.seed}{'_2runs' if self.two_runs else ''}"
        source = Emitter(self, dag_id).source()
        return GeneratedDag(self.seed, dag_id, source, frozenset(self.features), self._count(), self.two_runs)

    def _count(self) -> int:
        return sum(len(n.inner) if n.kind == "group" else 1 for n in self.nodes)

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def _task(self, group: tuple[str, ...], mapped_group: Node | None = None) -> Node:
        rnd = self.rnd
        kinds = ["task"] * 6 + ["list"] * 3 + ["kwlist", "multi", "branch", "short", "mapped", "mapped_kw"]
        if mapped_group is not None:
            kinds = ["task"] * 4 + ["list", "multi"]
        kind = rnd.choice(kinds)
        sources = self._mappable_sources(mapped_group)
        if kind in ("mapped", "mapped_kw") and not sources[kind]:
            kind = "task"
        node = Node(f"t{self._next()}", kind, group=group)
        if mapped_group is not None:
            node.mapped_group = mapped_group.name
        self._upstreams(node, mapped_group)
        self._behaviour(node, mapped=kind in ("mapped", "mapped_kw") or mapped_group is not None)
        if kind == "mapped":
            self._expand(node, sources["mapped"])
        elif kind == "mapped_kw":
            self._expand(node, sources["mapped_kw"])
            self.features.add("expand_kwargs")
        elif kind == "branch":
            self.features.add("branch")
        elif kind == "short":
            node.short_result = rnd.random() < 0.5
            node.ignore_downstream = rnd.random() < 0.5
            self.features.add("short_circuit")
        elif kind == "multi":
            self.features.add("multiple_outputs")
        if mapped_group is not None:
            mapped_group.inner.append(node)
        else:
            self.nodes.append(node)
        return node

    def _mappable_sources(self, mapped_group: Node | None) -> dict[str, list[Any]]:
        rnd = self.rnd
        earlier = self._visible(mapped_group)
        lists = [n for n in earlier if n.kind == "list" or n.kind == "mapped"]
        kwlists = [n for n in earlier if n.kind == "kwlist"]
        literal = [rnd.randint(0, 9) for _ in range(rnd.choice([0, 1, 2, 2, 3]))]
        literal_kw = [{"x": rnd.randint(0, 9)} for _ in range(rnd.choice([0, 1, 2, 3]))]
        if mapped_group is not None:  # a task in a mapped group is mapped by its group
            return {"mapped": [], "mapped_kw": []}
        return {"mapped": [*lists, literal], "mapped_kw": [*kwlists, literal_kw]}

    def _visible(self, mapped_group: Node | None) -> list[Node]:
        """Earlier tasks a new task can take data from (not those inside a mapped group)."""
        outer = [n for n in self.nodes if n.kind not in ("group", "teardown")]
        if mapped_group is not None:
            return outer + list(mapped_group.inner)
        return outer

    def _expand(self, node: Node, sources: list[Any]) -> None:
        rnd = self.rnd
        source = rnd.choice(sources)
        node.expand = ("x", source)
        if isinstance(source, Node):
            self.features.add("mapped over XComArg" if source.kind != "mapped" else "mapped over mapped")
        else:
            self.features.add("mapped over literal")
            if not source:
                self.features.add("zero-length map")
        if node.kind == "mapped" and rnd.random() < 0.2:
            node.expand2 = ("c", [rnd.randint(0, 5) for _ in range(rnd.randint(1, 2))])
            self.features.add("cross product")
        elif node.kind == "mapped" and rnd.random() < 0.3:
            node.partial = {"c": rnd.randint(0, 5)}

    def _upstreams(self, node: Node, mapped_group: Node | None) -> None:
        rnd = self.rnd
        visible = self._visible(mapped_group)
        candidates = [n for n in visible if n is not node]
        if mapped_group is not None:
            # Outer tasks are already upstream of the group; inside, take data from the group's own.
            candidates = list(mapped_group.inner)
        for upstream in rnd.sample(candidates, k=min(len(candidates), rnd.choice([0, 1, 1, 2, 2, 3]))):
            if upstream.kind == "multi" and rnd.random() < 0.6:
                node.data.append((upstream, rnd.choice(["a", "b"])))
            elif rnd.random() < 0.6 and upstream.kind not in ("setup",):
                node.data.append((upstream, None))
            else:
                node.after.append(upstream)
        if mapped_group is None:
            groups = [n for n in self.nodes if n.kind == "group"]
            if groups and rnd.random() < 0.3:
                node.after.append(rnd.choice(groups))
        if node.data or node.after:
            node.trigger_rule = (
                "all_success" if rnd.random() < 0.45 else rnd.choice(self._rules(node, mapped_group))
            )
            if node.trigger_rule != "all_success":
                self.features.add(f"trigger_rule {node.trigger_rule}")
            if node.trigger_rule == "always":
                # Such a task shares the first pass with its upstreams, and dag.test() runs a pass in an
                # order it does not fix (a set's): its inputs would be a race. It only follows them.
                node.after += [upstream for upstream, _ in node.data]
                node.data.clear()

    def _rules(self, node: Node, mapped_group: Node | None) -> Sequence[str]:
        # "always" is weighted up: such a task runs in the first pass, before the upstreams it pulls from.
        # Airflow refuses it in a mapped task group mapped over a task's output, so none go there.
        if not self.two_runs or mapped_group is not None:
            return TRIGGER_RULES
        return (*TRIGGER_RULES, *["always"] * 4)

    def _behaviour(self, node: Node, *, mapped: bool) -> None:
        rnd = self.rnd
        spec: dict[str, Any] = {"k": rnd.randint(0, 20)}
        roll = rnd.random()
        if roll < 0.12:
            spec["fail"] = True
            self.features.add("fails")
        elif roll < 0.2:
            spec["skip"] = True
            self.features.add("skips")
        elif roll < 0.26:
            spec["fail_hard"] = True
            self.features.add("AirflowFailException")
        elif roll < 0.36:
            spec["fail_tries"] = [1] if rnd.random() < 0.6 else [1, 2]
            self.features.add("fails on a try")
        elif roll < 0.44:
            spec["mod"] = rnd.choice([2, 3])
            self.features.add("fails on its input")
        elif roll < 0.52 and mapped:
            spec["fail_index" if rnd.random() < 0.5 else "skip_index"] = [rnd.randint(0, 2)]
            self.features.add("fails or skips by map index")
        if rnd.random() < 0.35 or "fail_tries" in spec:
            node.retries = rnd.randint(1, 2)
            self.features.add("retries")
        if rnd.random() < 0.15:
            spec["push"] = "extra"
            self.features.add("extra XCom key")
        if node.kind == "list":
            spec["out"] = "list"
            spec["len"] = rnd.choice([0, 1, 2, 3, 3, None])  # None: the length comes from the input
        elif node.kind == "kwlist":
            spec["out"] = "kwlist"
            spec["len"] = rnd.choice([0, 1, 2, 3, None])
        elif node.kind == "multi":
            spec["out"] = "dict"
        elif rnd.random() < 0.1:
            spec["out"] = "none"
        if self.two_runs and rnd.random() < 0.5:
            node.depends_on_past = True
            node.wait_for_downstream = rnd.random() < 0.5
        if self.two_runs and rnd.random() < 0.2:
            node.pull_prior = node.name
            self.features.add("include_prior_dates")
        upstreams = [u for u, _ in node.data] + list(node.after)
        if self.two_runs and upstreams and node.trigger_rule != "always" and rnd.random() < 0.3:
            node.pull_all = rnd.choice(upstreams).task_id
            self.features.add("include_prior_dates of every run")
        node.spec = spec

    def _mapped_group(self) -> None:
        rnd = self.rnd
        group = Node(f"mg{self._next()}", "group")
        sources = self._mappable_sources(None)
        use_kwargs = rnd.random() < 0.25
        self._expand(group, sources["mapped_kw" if use_kwargs else "mapped"])
        group.expand2 = None
        group.partial = {}
        if use_kwargs:
            group.kind = "group_kw"
            self.features.add("mapped task group expand_kwargs")
        self.features.add("mapped task group")
        visible = [n for n in self.nodes if n.kind not in ("teardown",)]
        for upstream in rnd.sample(visible, k=min(len(visible), rnd.choice([0, 1, 1, 2]))):
            group.after.append(upstream)
        self.nodes.append(group)
        for _ in range(rnd.randint(1, 3)):
            self._task((), mapped_group=group)
        group.kind = "group"
        group.spec = {"kwargs": use_kwargs}

    def _setup_teardown(self) -> None:
        rnd = self.rnd
        work = [n for n in self.nodes if n.kind not in ("group",) and not n.group]
        if not work:
            return
        chosen = rnd.sample(work, k=min(len(work), rnd.randint(1, 3)))
        setup = Node(f"s{self._next()}", "setup")
        self._behaviour(setup, mapped=False)
        teardown = Node(f"td{self._next()}", "teardown")
        self._behaviour(teardown, mapped=False)
        teardown.fail_dagrun = rnd.random() < 0.5
        teardown.after = [setup, *chosen]
        for node in chosen:
            # Airflow requires a setup's direct downstream work to be all_success.
            node.after.append(setup)
            node.trigger_rule = "all_success"
        self.nodes.insert(0, setup)
        self.nodes.append(teardown)
        self.features.add("setup/teardown")

    def _note_past_dependencies(self) -> None:
        # A task held by its previous run's failure makes dag.test() wait for ever: the harness stops
        # waiting after a few of its one-second sleeps (``max_waits``) and reports the run as left.
        everything = [*self.nodes, *(t for n in self.nodes if n.kind == "group" for t in n.inner)]
        if any(n.depends_on_past for n in everything):
            self.features.add("depends_on_past")
        if any(n.wait_for_downstream for n in everything):
            self.features.add("wait_for_downstream")

    def _finish_branches(self) -> None:
        rnd = self.rnd
        everything = [*self.nodes, *(t for n in self.nodes if n.kind == "group" for t in n.inner)]
        for node in everything:
            if node.kind != "branch":
                continue
            followers: list[str] = []
            for other in everything:
                if any(u is node for u, _ in other.data) or node in other.after:
                    followers.append(other.task_id if other.kind != "group" else other.name)
            followers = sorted(set(followers))
            node.branch_to = rnd.sample(followers, k=rnd.randint(0, len(followers))) if followers else []


# -- emitting the file ----------------------------------------------------------------------------------

_PRELUDE = '''\
"""Generated by tests/dag_fuzzer.py (seed {seed}{two_runs_note}): do not edit, regenerate."""

import datetime

from airflow.sdk import TaskGroup, dag, get_current_context, setup, task, task_group, teardown

try:
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
except ImportError:  # Airflow < 3.2
    from airflow.exceptions import AirflowFailException, AirflowSkipException


def _val(value):
    """Any input as an int, the same way on every run (LazyXComSequence included)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return len(value) + sum(_val(v) for v in value.values())
    return 1 + sum(_val(v) for v in value)


def _act(name, spec, **inputs):
    ti = get_current_context()["ti"]
    try_number, map_index = ti.try_number, ti.map_index
    total = spec["k"] + sum(_val(v) for _, v in sorted(inputs.items()))
    if try_number in spec.get("fail_tries", ()):
        raise ValueError(f"{{name}} fails on try {{try_number}}")
    if map_index in spec.get("fail_index", ()):
        raise ValueError(f"{{name}} fails at map index {{map_index}}")
    if map_index in spec.get("skip_index", ()):
        raise AirflowSkipException(f"{{name}} skips at map index {{map_index}}")
    if spec.get("fail"):
        raise ValueError(f"{{name}} fails")
    if spec.get("fail_hard"):
        raise AirflowFailException(f"{{name}} fails without retrying")
    if spec.get("skip"):
        raise AirflowSkipException(f"{{name}} skips")
    if "mod" in spec and total % spec["mod"] == 0:
        raise ValueError(f"{{name}} fails on input total {{total}}")
    if "pull" in spec:
        prior = ti.xcom_pull(task_ids=spec["pull"], include_prior_dates=True, map_indexes=map_index)
        total += _val(prior)
    if "pull_all" in spec:
        ti.xcom_push(key="prior_all", value=ti.xcom_pull(task_ids=spec["pull_all"], include_prior_dates=True))
    if "push" in spec:
        ti.xcom_push(key=spec["push"], value=[total, try_number])
    out = spec.get("out", "int")
    length = spec.get("len")
    length = total % 4 if length is None else length
    if out == "list":
        return [total + i for i in range(length)]
    if out == "kwlist":
        return [{{"x": total + i, "c": i}} for i in range(length)]
    if out == "dict":
        return {{"a": total, "b": [total, try_number]}}
    if out == "none":
        return None
    return total


'''


class Emitter:
    """The Python source of a generated DAG."""

    def __init__(self, gen: Generator, dag_id: str) -> None:
        self.gen = gen
        self.dag_id = dag_id
        self.lines: list[str] = []

    def source(self) -> str:
        gen = self.gen
        note = ", two runs" if gen.two_runs else ""
        head = _PRELUDE.format(seed=gen.seed, two_runs_note=note)
        body = [
            f"@dag(dag_id={self.dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1),",
            "     catchup=False, default_args={'retry_delay': datetime.timedelta(0)})",
            "def generated():",
        ]
        emitted_groups: tuple[str, ...] = ()
        for node in gen.nodes:
            # Plain task groups are opened and closed as the nodes in them come and go.
            common = 0
            while common < min(len(emitted_groups), len(node.group)) and (
                emitted_groups[common] == node.group[common]
            ):
                common += 1
            emitted_groups = emitted_groups[:common]
            for name in node.group[common:]:
                indent = "    " * (1 + len(emitted_groups))
                body.append(f"{indent}with TaskGroup({name!r}):")
                emitted_groups = (*emitted_groups, name)
            indent = "    " * (1 + len(emitted_groups))
            if node.kind == "group":
                body += [indent + line for line in self._mapped_group(node)]
            else:
                body += [indent + line for line in self._task(node)]
        body.append("    pass")
        body += ["", "", "generated()", ""]
        return head + "\n".join(body)

    def _decorator(self, node: Node) -> list[str]:
        kwargs = [f"task_id={node.name!r}"]
        if node.trigger_rule != "all_success" and node.kind != "teardown":
            kwargs.append(f"trigger_rule={node.trigger_rule!r}")
        if node.retries:
            kwargs.append(f"retries={node.retries}")
        if node.kind == "multi":
            kwargs.append("multiple_outputs=True")
        if node.depends_on_past:
            kwargs.append("depends_on_past=True")
        if node.wait_for_downstream:
            kwargs.append("wait_for_downstream=True")
        if node.kind == "short":
            kwargs.append(f"ignore_downstream_trigger_rules={node.ignore_downstream}")
        kind = {"branch": "task.branch", "short": "task.short_circuit"}.get(node.kind, "task")
        lines = [f"@{kind}({', '.join(kwargs)})"]
        if node.kind == "setup":
            lines.insert(0, "@setup")
        if node.kind == "teardown":
            lines.insert(0, f"@teardown(on_failure_fail_dagrun={node.fail_dagrun})")
        return lines

    def _task(self, node: Node, mapped_param: str | None = None) -> list[str]:
        spec = dict(node.spec)
        if node.pull_prior:
            spec["pull"] = node.task_id
        if node.pull_all:
            spec["pull_all"] = node.pull_all
        lines = self._decorator(node)
        lines.append(f"def {node.name}(a=None, b=None, c=None, d=None, x=None, p=None):")
        call = f"_act({node.name!r}, {spec!r}, a=a, b=b, c=c, d=d, x=x, p=p)"
        if node.kind == "branch":
            lines += [f"    {call}", f"    return {sorted(node.branch_to)!r}"]
        elif node.kind == "short":
            lines += [f"    {call}", f"    return {node.short_result!r}"]
        else:
            lines.append(f"    return {call}")
        args = []
        for (upstream, key), name in zip(node.data, "abd", strict=False):
            args.append(f"{name}={upstream.var}" + (f"[{key!r}]" if key else ""))
        if mapped_param is not None:
            args.append(f"p={mapped_param}")
        if node.kind in ("mapped", "mapped_kw"):
            lines += self._mapped_call(node, args)
        else:
            lines.append(f"{node.var} = {node.name}({', '.join(args)})")
        for upstream in node.after:
            lines.append(f"{upstream.var} >> {node.var}")
        return lines

    def _mapped_call(self, node: Node, args: list[str]) -> list[str]:
        source = node.expand[1]
        source_code = source.var if isinstance(source, Node) else repr(source)
        partial = [*args, *(f"{k}={v!r}" for k, v in node.partial.items())]
        call = f"{node.name}.partial({', '.join(partial)})" if partial else node.name
        if node.kind == "mapped_kw":
            return [f"{node.var} = {call}.expand_kwargs({source_code})"]
        expand = [f"x={source_code}"]
        if node.expand2:
            expand.append(f"{node.expand2[0]}={node.expand2[1]!r}")
        return [f"{node.var} = {call}.expand({', '.join(expand)})"]

    def _mapped_group(self, group: Node) -> list[str]:
        lines = [f"@task_group(group_id={group.name!r})"]
        param = "x"
        lines.append(f"def {group.name}(x=None, c=None):")
        for node in group.inner:
            lines += ["    " + line for line in self._task(node, mapped_param=param)]
        lines.append("    pass")
        source = group.expand[1]
        source_code = source.var if isinstance(source, Node) else repr(source)
        if group.spec.get("kwargs"):
            lines.append(f"{group.var} = {group.name}.expand_kwargs({source_code})")
        else:
            lines.append(f"{group.var} = {group.name}.expand(x={source_code})")
        for upstream in group.after:
            lines.append(f"{upstream.var} >> {group.var}")
        return lines


def generate(seed: int, *, two_runs: bool = False) -> GeneratedDag:
    """The DAG of ``seed``: the same file on every call and every machine."""
    return Generator(seed, two_runs=two_runs).dag()


# -- running both sides ---------------------------------------------------------------------------------


@dataclass
class FuzzResult:
    dag: GeneratedDag
    comparison: Any  # a Comparison, or None if a side could not run the DAG at all
    error: str | None = None


def _pytest_xcom_modules() -> tuple[Any, Any, Any]:
    """run_dag from whichever pytest_xcom is first on the path; the harness and comparer from here.

    Pointing PYTHONPATH at another checkout fuzzes that checkout's run_dag even if it predates the
    comparer or the batch harness: those two are then loaded from this checkout's files.
    """
    import pytest_xcom

    own = Path(__file__).resolve().parent.parent / "pytest_xcom"
    modules = []
    for name in ("_dagtest", "compare"):
        full = f"pytest_xcom.{name}"
        try:
            module = importlib.import_module(full)
            if name == "_dagtest" and not hasattr(module, "run_dag_tests"):
                raise ImportError
        except ImportError:
            spec = importlib.util.spec_from_file_location(full, own / f"{name}.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[full] = module
            spec.loader.exec_module(module)
        modules.append(module)
    from pytest_xcom.runner import run_dag

    print(f"run_dag from {Path(pytest_xcom.__file__).parent}", file=sys.stderr)
    return modules[0], modules[1], run_dag


def fuzz(
    seeds: Iterable[int],
    *,
    two_runs: bool = False,
    workdir: Path | None = None,
    batch_size: int = 100,
    timeout: float = 120,
    timings: dict[str, float] | None = None,
    recheck: Callable[[int], bool] = lambda seed: True,
) -> list[FuzzResult]:
    """Generate each seed's DAG, run it through dag.test() and run_dag, and compare.

    A DAG that differs is run through dag.test() again (under other hash seeds) to leave out what
    Airflow varies, unless ``recheck(seed)`` is false. ``timings`` receives the seconds per side.
    """
    timings = {} if timings is None else timings
    dagtest, compare, run_dag = _pytest_xcom_modules()
    workdir = Path(workdir or tempfile.mkdtemp(prefix="pytest_xcom-fuzz-"))
    workdir.mkdir(parents=True, exist_ok=True)
    dags = [generate(seed, two_runs=two_runs) for seed in seeds]
    files = []
    for generated in dags:
        path = workdir / f"{generated.dag_id}.py"
        path.write_text(generated.source)
        files.append(path)
    repeat = 2 if two_runs else 1
    # Where an earlier run holds a task, Airflow waits for ever; retries here have no delay, so two
    # of dag.test()'s one-second waits mean it is held.
    max_waits = 2 if two_runs else None

    def requests(indexes: list[int]) -> list[Any]:
        return [
            dagtest.DagTestRequest(
                files[i], dags[i].dag_id, logical_date=LOGICAL_DATE, repeat=repeat, max_waits=max_waits
            )
            for i in indexes
        ]

    def real_runs(indexes: list[int]) -> dict[int, Any]:
        found: dict[int, Any] = {}
        for start in range(0, len(indexes), batch_size):
            chunk = indexes[start : start + batch_size]
            found.update(zip(chunk, dagtest.run_dag_tests(requests(chunk), timeout=timeout), strict=True))
        return found

    everything = list(range(len(dags)))
    mark = time.perf_counter()
    real = real_runs(everything)
    timings["dag.test()"] = time.perf_counter() - mark
    mark = time.perf_counter()
    ours = {i: _run_ours(run_dag, files[i], dags[i].dag_id, repeat) for i in everything}
    timings["run_dag"] = time.perf_counter() - mark

    def compared(i: int, again: Any = None) -> Any:
        if isinstance(real[i], dagtest.DagTestError) or isinstance(ours[i], BaseException):
            return None
        calls = real[i].calls if two_runs else [real[i]]
        parts = [
            compare.compare_outcomes(
                call,
                mine,
                again=[o.calls[n] if two_runs else o for o in again] if again else None,
            )
            for n, (call, mine) in enumerate(zip(calls, ours[i], strict=True))
        ]
        if len(parts) == 1:
            return parts[0]
        details = tuple(
            compare.Difference(d.what, d.task_id, d.map_index, d.key, d.airflow, d.ours)
            if n == 0
            else compare.Difference(f"run 2 {d.what}", d.task_id, d.map_index, d.key, d.airflow, d.ours)
            for n, part in enumerate(parts)
            for d in part.details
        )
        notes = tuple(note for part in parts for note in part.notes)
        return compare.Comparison(dags[i].dag_id, details, notes, real[i], ours[i])

    results = {i: compared(i) for i in everything}
    differing = [
        i for i in everything if results[i] is not None and not results[i].identical and recheck(dags[i].seed)
    ]
    mark = time.perf_counter()
    again: dict[int, list[Any]] = defaultdict(list)
    for seeds in (compare.RERUN_HASH_SEEDS, compare.MORE_HASH_SEEDS):
        if not differing:
            break
        reruns = compare.rerun_real(requests(differing), dagtest.run_dag_tests, seeds=seeds, timeout=timeout)
        for i, others in zip(differing, reruns, strict=True):
            again[i] += [o for o in others if not isinstance(o, dagtest.DagTestError)]
            if again[i]:
                results[i] = compared(i, again=again[i])
        differing = [i for i in differing if compare.only_reordered(results[i])]
    timings["dag.test() again, where they differ"] = time.perf_counter() - mark
    out = []
    for i in everything:
        error = None
        if isinstance(real[i], dagtest.DagTestError):
            error = "dag.test() failed: " + _last_error_line(str(real[i]))
        elif isinstance(ours[i], BaseException):
            error = f"run_dag raised {type(ours[i]).__name__}: {ours[i]}"
        out.append(FuzzResult(dags[i], results[i], error))
    return out


def _run_ours(run_dag: Any, path: Path, dag_id: str, repeat: int) -> Any:
    from pytest_xcom.store import XComStore

    from_file = importlib.import_module("pytest_xcom.dags").load_dag_file
    try:
        dag = from_file(path)[dag_id]
        store = XComStore()
        # The task runner logs every task to stdout, which would bury the summary.
        with contextlib.redirect_stdout(io.StringIO()):
            return [
                run_dag(dag, store=store, logical_date=LOGICAL_DATE + timedelta(days=i))
                for i in range(repeat)
            ]
    except Exception as exc:
        return exc


def _last_error_line(text: str) -> str:
    lines = [line for line in text.splitlines() if "Error" in line or "Exception" in line]
    return (lines or text.splitlines() or [""])[-1].strip()[:300]


# -- classes of differences -----------------------------------------------------------------------------


def classify(comparison: Any) -> set[str]:
    """Names for the kinds of differences in a comparison, so that many seeds showing a bug count once.

    A task expanded on one side and left as one unexpanded instance on the other is one difference
    (its expansion), not one per map index.
    """
    names = set()
    by_task: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for d in comparison.details:
        if d.what.endswith("state") and d.task_id is not None:
            by_task[(d.what, d.task_id)].append(d)
        else:
            names.add(difference_class(d))
    for (what, _), group in by_task.items():
        real = {d.map_index: d.airflow for d in group if d.airflow != "(none)"}
        mine = {d.map_index: d.ours for d in group if d.ours != "(none)"}
        if real.keys() != mine.keys() and (set(real) == {-1} or set(mine) == {-1}):

            def side(states: dict[int, str]) -> str:
                if set(states) == {-1}:
                    return f"unexpanded {states[-1]}"
                return "expanded " + "/".join(sorted(set(states.values())))

            names.add(f"{what} of a mapped task: dag.test() {side(real)} / run_dag {side(mine)}")
        else:
            names.update(difference_class(d) for d in group)
    return names


def difference_class(difference: Any) -> str:
    """The kind of one difference: what differs and both sides' values (values left out for XComs)."""
    what = difference.what
    if what.endswith("state") and difference.task_id is not None:
        return f"{what}: dag.test() {difference.airflow} / run_dag {difference.ours}"
    if what.endswith("xcom"):
        if difference.airflow == "(none)":
            return f"{what}: only run_dag has it"
        if difference.ours == "(none)":
            return f"{what}: only dag.test() has it"
        return f"{what}: values differ"
    return f"{what}: dag.test() {difference.airflow} / run_dag {difference.ours}"


def summarize(results: Sequence[FuzzResult]) -> str:
    classes: dict[str, list[FuzzResult]] = defaultdict(list)
    errors = Counter()
    for result in results:
        if result.error:
            errors[result.error.split(":", 1)[0]] += 1
            classes[f"error: {result.error[:120]}"].append(result)
            continue
        for name in sorted(classify(result.comparison)):
            classes[name].append(result)
    differing = sum(1 for r in results if r.error or not r.comparison.identical)
    lines = [f"{differing} of {len(results)} DAGs differ"]
    left_out = sum(
        1 for r in results if r.comparison and any("nondeterministic" in n for n in r.comparison.notes)
    )
    sqlite = sum(1 for r in results if r.comparison and any("SQLite" in n for n in r.comparison.notes))
    lines.append(
        f"{left_out} with values left out as nondeterministic in Airflow, {sqlite} with SQLite artifacts"
    )
    for name, members in sorted(classes.items(), key=lambda kv: -len(kv[1])):
        smallest = min(members, key=lambda r: (r.dag.n_tasks, r.dag.seed))
        seeds = ", ".join(str(r.dag.seed) for r in members[:12]) + (" ..." if len(members) > 12 else "")
        lines.append(f"{len(members):5}  {name}")
        lines.append(
            f"       smallest: seed {smallest.dag.seed} ({smallest.dag.n_tasks} tasks); seeds: {seeds}"
        )
    return "\n".join(lines)


def _seed_range(text: str) -> range:
    start, _, stop = text.partition(":")
    return range(int(start), int(stop)) if stop else range(int(start), int(start) + 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=_seed_range, default=range(0, 100), help="START:STOP (default 0:100)")
    parser.add_argument("--two-runs", action="store_true", help="two consecutive runs per DAG")
    parser.add_argument("--show", type=int, metavar="SEED", help="print one seed's DAG file and stop")
    parser.add_argument("--details", action="store_true", help="print every differing DAG's differences")
    parser.add_argument("--workdir", type=Path, help="keep the generated files here")
    parser.add_argument("--batch-size", type=int, default=100, help="DAGs per dag.test() subprocess")
    args = parser.parse_args(argv)
    if args.show is not None:
        print(generate(args.show, two_runs=args.two_runs).source)
        return 0
    started = time.perf_counter()
    timings: dict[str, float] = {}
    results = fuzz(
        args.seeds, two_runs=args.two_runs, workdir=args.workdir, batch_size=args.batch_size, timings=timings
    )
    seconds = time.perf_counter() - started
    if args.details:
        for result in results:
            if result.error or not result.comparison.identical:
                print(f"--- seed {result.dag.seed} ({', '.join(sorted(result.dag.features))})")
                print(result.error or result.comparison)
    print(summarize(results))
    print(f"{len(results)} DAGs in {seconds:.0f} s ({seconds / max(1, len(results)):.2f} s per DAG)")
    print("seconds: " + ", ".join(f"{name} {value:.1f}" for name, value in timings.items()))
    return 0 if all(not r.error and r.comparison.identical for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
