"""Properties of the in-memory XCom path, each checked against Airflow's own code.

``reference_outcome`` (``airflow_reference``) assembles a worker's round trip from Airflow's and httpx's
real pieces and shares no code with pytest_xcom.comms: serde.serialize, the SetXCom message sent by the
task's ``CommsDecoder.send`` over a real socket pair to the supervisor's decoders, the HTTP body exactly
as httpx's ``json=`` encodes it, the API server's body parsing (JSON -> JsonValue) and JSON column, its
``XComResponse`` JSON, the client's ``XComResponse``, ``XComResult`` in a response frame read by the
task's ``CommsDecoder``, and ``BaseXCom.deserialize_value``, all of the installed Airflow. The store must
agree with it on every value: what arrives, or which exception is raised on which side.

How many examples each property runs comes from the hypothesis profile (``pytest_xcom-ci``: 300).
"""

from __future__ import annotations

import collections
import datetime
import functools
import itertools
import textwrap
from typing import Any, NamedTuple

import pytest
from airflow.sdk.exceptions import AirflowRuntimeError
from airflow_reference import Outcome, outcome_of, reference_outcome, same_value
from hypothesis import example, given, note, settings
from hypothesis import strategies as st

from pytest_xcom import _compat
from pytest_xcom._hypothesis import CI, DEV, ENV_VAR, INI_OPTION, THOROUGH
from pytest_xcom.comms import installed
from pytest_xcom.context import TaskContextFactory
from pytest_xcom.roundtrips import ROUNDTRIP_TABLE, SAME, Refused
from pytest_xcom.store import XComStore
from pytest_xcom.strategies import refused_values, transformed_values, xcom_keys, xcom_values

# -- the store against the reference ------------------------------------------------------------------


def store_outcome(value: Any) -> Outcome:
    store = XComStore()
    return outcome_of(lambda: store.seed("upstream", value), lambda: store.get("upstream"))


def assert_agrees_with_airflow(value: Any) -> Outcome:
    fake, real = store_outcome(value), reference_outcome(value)
    assert fake.agrees_with(real), f"fake({value!r}): {fake!r} != real({value!r}): {real!r}"
    return real


# The first example of a test may pay for Airflow's lazy imports and pydantic schemas: no deadline.
# How many examples run is the profile's (pytest_xcom-ci: 300).
no_deadline = settings(deadline=None)

# -- what the properties draw ---------------------------------------------------------------------------


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


_odd_keys = st.one_of(
    st.text(max_size=5), st.integers(), st.none(), st.tuples(st.integers()), st.binary(max_size=3)
)
_parts = st.one_of(
    xcom_values(max_depth=1, max_size=3),
    transformed_values(max_depth=0).map(_first),
    refused_values(max_depth=0).map(_first),
)
# Anything a task might push: exact, changed and refused parts mixed in one value, several of each.
anything = st.one_of(
    xcom_values(),
    transformed_values().map(_first),
    refused_values().map(_first),
    st.recursive(
        _parts,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.lists(inner, max_size=4).map(tuple),
            st.dictionaries(_odd_keys, inner, max_size=4),
        ),
        max_leaves=8,
    ),
)


@no_deadline
@given(xcom_values())
def test_values_that_roundtrip_exactly_do_so_in_airflow_and_in_the_store(value):
    outcome = assert_agrees_with_airflow(value)
    assert outcome.phase == "ok" and same_value(value, outcome.value), outcome


@no_deadline
@given(transformed_values())
def test_transformed_values_arrive_as_airflow_delivers_them(pair):
    value, received = pair
    outcome = assert_agrees_with_airflow(value)
    assert outcome.phase == "ok" and same_value(received, outcome.value), outcome


@no_deadline
@given(refused_values())
def test_refused_values_are_refused_with_airflows_exception(pair):
    value, error = pair
    outcome = assert_agrees_with_airflow(value)
    assert outcome.phase != "ok" and type(outcome.value) is error, outcome


@no_deadline
@given(anything)
def test_anything_a_task_pushes_arrives_or_fails_as_in_airflow(value):
    assert_agrees_with_airflow(value)


@pytest.mark.parametrize(
    "example",
    [pytest.param(e, id=e.code) for row in ROUNDTRIP_TABLE for e in row.examples],
)
def test_each_roundtrip_table_example_is_what_airflow_does(example):
    outcome = assert_agrees_with_airflow(example.value)
    receives = example.receives_on("{}.{}".format(*_compat.AIRFLOW_MINOR))

    if isinstance(receives, Refused):
        assert outcome.phase == receives.phase, outcome
        assert type(outcome.value).__name__ == receives.error, outcome
    else:
        expected = example.value if receives is SAME else receives
        assert outcome.phase == "ok" and same_value(expected, outcome.value), outcome


# -- a task's push and pull against the store ---------------------------------------------------------


@no_deadline
@given(anything, xcom_keys())
def test_push_and_pull_between_two_tasks_gives_what_the_store_gives(value, key):
    store = XComStore()
    factory = TaskContextFactory(store=store)
    with installed(store.channel()):
        try:
            upstream = factory("upstream")["ti"]
            downstream = factory("downstream")["ti"]
            by_tasks = outcome_of(
                lambda: upstream.xcom_push(key, value),
                lambda: downstream.xcom_pull(task_ids="upstream", key=key),
            )
        finally:
            factory.close()
    other = XComStore()
    by_store = outcome_of(
        lambda: other.seed("upstream", value, key=key), lambda: other.get("upstream", key=key)
    )

    assert by_tasks.agrees_with(by_store), f"tasks({value!r}): {by_tasks!r} != store({value!r}): {by_store!r}"


# -- xcom_pull's semantics against a model ---------------------------------------------------------------

NOTSET: Any = object()  # an argument left out
RUN_DATES = [datetime.datetime(2024, 1, d, tzinfo=datetime.UTC) for d in (1, 2, 3)]
TASKS = ["a", "b", "puller"]
KEYS = ["return_value", "k"]


class Push(NamedTuple):
    run: int
    task_id: str
    map_index: int
    key: str
    value: Any


class Pull(NamedTuple):
    task_ids: Any
    key: str
    map_indexes: Any
    default: Any
    include_prior_dates: bool
    run: int | None  # run_id= another run, or None for the puller's own


class XComTableModel:
    """Airflow's xcom table and xcom_pull, written from task_runner.xcom_pull, BaseXCom.get_one/get_all,
    the API client (map_index < 0 is not sent) and the API server's routes over XComModel.get_many."""

    def __init__(self, run_dates: list[datetime.datetime]) -> None:
        self.run_dates = run_dates
        self.rows: dict[tuple[int, str, int, str], tuple[Any, int]] = {}
        self.clock = itertools.count()

    def push(self, p: Push) -> None:
        self.rows[(p.run, p.task_id, p.map_index, p.key)] = (p.value, next(self.clock))

    def _visible(self, run: int, include_prior_dates: bool) -> set[int]:
        if not include_prior_dates:
            return {run}
        return {r for r, when in enumerate(self.run_dates) if when <= self.run_dates[run]}

    def _get_one(self, run: int, task_id: str, map_index: int | None, key: str, prior: bool) -> Any:
        wanted = -1 if map_index is None or map_index < 0 else map_index
        found = [
            (self.run_dates[r], seq, value)
            for (r, t, m, k), (value, seq) in self.rows.items()
            if r in self._visible(run, prior) and (t, m, k) == (task_id, wanted, key)
        ]
        # Newest logical date first, then the latest write.
        return max(found, key=lambda f: (f[0], f[1]))[2] if found else None

    def _get_all(self, run: int, task_id: str, key: str, prior: bool) -> list[list[Any]] | None:
        """Every map index's values, grouped by map index (rows of one map index in any order)."""
        found = sorted(
            (
                (m, value)
                for (r, t, m, k), (value, _) in self.rows.items()
                if r in self._visible(run, prior) and (t, k) == (task_id, key)
            ),
            key=lambda f: f[0],
        )
        if not found:
            return None
        return [[v for _, v in group] for _, group in itertools.groupby(found, key=lambda f: f[0])]

    def xcom_pull(self, me: tuple[int, str], pull: Pull) -> Any:
        """Airflow's answer, as groups: list of lists whose members may come in any order."""
        run = me[0] if pull.run is None else pull.run
        single_task = pull.task_ids is None or isinstance(pull.task_ids, str)
        task_ids = (
            [me[1]] if pull.task_ids is None else [pull.task_ids] if single_task else list(pull.task_ids)
        )
        if pull.map_indexes is NOTSET:
            groups: list[list[Any]] = []
            for t in task_ids:
                found = self._get_all(run, t, pull.key, pull.include_prior_dates)
                groups.extend([[None]] if found is None else found)
            return groups, single_task and sum(map(len, groups)) == 1
        single_index = pull.map_indexes is None or isinstance(pull.map_indexes, int)
        indexes = [pull.map_indexes] if single_index else list(pull.map_indexes)
        default = None if pull.default is NOTSET else pull.default
        values = []
        for t, m in itertools.product(task_ids, indexes):
            value = self._get_one(run, t, m, pull.key, pull.include_prior_dates)
            values.append(default if value is None else value)
        return [[v] for v in values], single_task and single_index


def assert_pull_matches(actual: Any, expected: tuple[list[list[Any]], bool], call: str) -> None:
    groups, unwrapped = expected
    flat = [v for group in groups for v in group]
    if unwrapped:
        assert actual == flat[0] and type(actual) is type(flat[0]), (
            f"fake {call} = {actual!r} != model {flat[0]!r}"
        )
        return
    assert isinstance(actual, list) and len(actual) == len(flat), (
        f"fake {call} = {actual!r} != model {groups!r}"
    )
    at = 0
    for group in groups:
        got = actual[at : at + len(group)]
        at += len(group)
        assert collections.Counter(map(repr, got)) == collections.Counter(map(repr, group)), (
            f"fake {call} = {actual!r} != model {groups!r} (groups of one map index in any order)"
        )


_values = st.one_of(st.none(), st.integers(0, 10**6).map(lambda n: f"v{n}"))
_pushes = st.lists(
    st.builds(
        Push,
        run=st.integers(0, 2),
        task_id=st.sampled_from(TASKS),
        map_index=st.sampled_from([-1, 0, 1, 2]),
        key=st.sampled_from(KEYS),
        value=_values,
    ),
    max_size=10,
)
_pulls = st.lists(
    st.builds(
        Pull,
        task_ids=st.one_of(
            st.none(), st.sampled_from(TASKS), st.lists(st.sampled_from(TASKS), max_size=3).map(tuple)
        ),
        key=st.sampled_from(KEYS),
        map_indexes=st.one_of(
            st.just(NOTSET),
            st.none(),
            st.sampled_from([-1, 0, 1, 2]),
            st.lists(st.one_of(st.none(), st.sampled_from([-1, 0, 1, 2])), max_size=3),
        ),
        default=st.sampled_from([NOTSET, "D"]),
        include_prior_dates=st.booleans(),
        run=st.one_of(st.none(), st.integers(0, 2)),
    ),
    min_size=1,
    max_size=5,
)


def _call_text(pull: Pull) -> str:
    args = [f"task_ids={pull.task_ids!r}", f"key={pull.key!r}"]
    if pull.map_indexes is not NOTSET:
        args.append(f"map_indexes={pull.map_indexes!r}")
    if pull.default is not NOTSET:
        args.append(f"default={pull.default!r}")
    if pull.include_prior_dates:
        args.append("include_prior_dates=True")
    if pull.run is not None:
        args.append(f"run_id=<run {pull.run}>")
    return f"xcom_pull({', '.join(args)})"


def _kwargs(pull: Pull, run_ids: list[str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"task_ids": pull.task_ids, "key": pull.key}
    kwargs["include_prior_dates"] = pull.include_prior_dates
    if pull.map_indexes is not NOTSET:
        kwargs["map_indexes"] = pull.map_indexes
    if pull.default is not NOTSET:
        kwargs["default"] = pull.default
    if pull.run is not None:
        kwargs["run_id"] = run_ids[pull.run]
    return kwargs


_QUIRK = [
    Pull("a", "k", NOTSET, "D", False, None),  # no map_indexes: the default is ignored, None comes back
    Pull("a", "k", None, "D", False, None),  # map_indexes=None: the default comes back
    Pull(("a", "b"), "k", NOTSET, "D", False, None),  # a list of tasks: [None, None]
]


@no_deadline
@example(run_dates=RUN_DATES, pushes=[], me=(0, "puller"), pulls=_QUIRK)
@example(
    run_dates=RUN_DATES,
    pushes=[Push(0, "a", -1, "k", "old"), Push(2, "a", -1, "k", "new"), Push(1, "a", 0, "k", None)],
    me=(1, "puller"),
    pulls=[
        Pull("a", "k", NOTSET, NOTSET, True, None),  # runs 0 and 1: every map index, ["old", None]
        Pull("a", "k", -1, NOTSET, True, None),  # the newest run up to run 1: "old"
        Pull("a", "k", 0, "D", True, None),  # None was pushed: the default
        Pull("a", "k", -1, NOTSET, True, 2),  # run_id= a later run sees all three: "new"
    ],
)
@given(
    run_dates=st.lists(st.sampled_from(RUN_DATES), min_size=3, max_size=3),
    pushes=_pushes,
    me=st.tuples(st.integers(0, 2), st.sampled_from(TASKS)),
    pulls=_pulls,
)
def test_xcom_pull_follows_airflows_semantics(run_dates, pushes, me, pulls):
    model = XComTableModel(run_dates)
    store = XComStore()
    factory = TaskContextFactory(store=store)
    run_ids = [f"run_{i}" for i in range(3)]
    with installed(store.channel()):
        try:
            contexts = {
                run: factory("puller", run_id=run_ids[run], logical_date=when)
                for run, when in enumerate(run_dates)
            }
            for push in pushes:
                note(f"push {push}")
                seed = functools.partial(
                    store.seed,
                    push.task_id,
                    push.value,
                    key=push.key,
                    map_index=push.map_index,
                    run_id=run_ids[push.run],
                )
                if push.value is None and _compat.XCOM_NONE_REFUSED:
                    # Airflow 3.0's API server refuses it, and the table keeps no row.
                    with pytest.raises(AirflowRuntimeError, match="Field required"):
                        seed()
                    continue
                seed()
                model.push(push)
            ti = factory(me[1], run_id=run_ids[me[0]], logical_date=run_dates[me[0]])["ti"]
            assert contexts  # every run is bound to the store before the seeds name them
            for pull in pulls:
                call = _call_text(pull)
                note(f"{me[1]} in run {me[0]}: {call}")
                actual = ti.xcom_pull(**_kwargs(pull, run_ids))
                assert_pull_matches(actual, model.xcom_pull(me, pull), call)
        finally:
            factory.close()


def test_xcom_pull_ignores_the_default_unless_map_indexes_is_given(xcom_store, task_context):
    ti = task_context("puller")["ti"]

    assert ti.xcom_pull(task_ids="nobody", default="D") is None
    assert ti.xcom_pull(task_ids="nobody", default="D", map_indexes=None) == "D"
    assert ti.xcom_pull(task_ids=["nobody", "nobody_else"], default="D") == [None, None]


def test_a_negative_map_index_below_minus_one_reads_the_unmapped_xcom(xcom_store, task_context):
    ti = task_context("puller")["ti"]
    xcom_store.seed("a", "unmapped")

    assert ti.xcom_pull(task_ids="a", map_indexes=-2) == "unmapped"


# -- the hypothesis profiles -------------------------------------------------------------------------------

_WIRING = """
    from pytest_xcom import _hypothesis

    def pytest_addoption(parser):
        _hypothesis.add_options(parser)

    import pytest

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(config):
        _hypothesis.configure(config)

    def pytest_report_header(config):
        return _hypothesis.report_header(config)
"""

_SHOW_PROFILE = """
    from hypothesis import settings

    def test_profile():
        current = settings.default
        print("\\nPROFILE", settings.get_current_profile_name(), current.max_examples, current.derandomize)
"""

_CI_VARIABLES = [
    "CI",
    "__TOX_ENVIRONMENT_VARIABLE_ORIGINAL_CI",
    "TF_BUILD",
    "BUILDKITE",
    "CIRCLECI",
    "CIRRUS_CI",
]
_CI_VARIABLES += [
    "CODEBUILD_BUILD_ID",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "HEROKU_TEST_RUN_ID",
    "TEAMCITY_VERSION",
]
_CI_VARIABLES += ["bamboo.buildKey", ENV_VAR]


@pytest.fixture
def profile_session(pytester, monkeypatch):
    """Run a pytest session in a subprocess (hypothesis's settings are process-wide) with the profile
    hooks wired as the plugin wires them, and return the 'PROFILE name max_examples derandomize' line."""
    for name in _CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_show=textwrap.dedent(_SHOW_PROFILE))

    def run(*args: str, ini: str = "", conftest: str = "") -> Any:
        pytester.makeconftest(textwrap.dedent(_WIRING) + textwrap.dedent(conftest))
        pytester.makeini(f"[pytest]\n{ini}\n")
        result = pytester.runpytest_subprocess("-p", "no:pytest_xcom", "-p", "no:randomly", "-s", *args)
        lines = [line for line in result.outlines if line.startswith(("PROFILE", "pytest_xcom:", "ERROR"))]
        return result, lines

    return run


def test_by_default_hypothesis_is_left_alone(profile_session):
    result, lines = profile_session()
    assert "PROFILE default 100 False" in lines, result.outlines
    assert not any(line.startswith("pytest_xcom:") for line in lines)


def test_auto_loads_the_dev_profile_locally(profile_session):
    result, lines = profile_session(ini=f"{INI_OPTION} = auto")
    assert f"pytest_xcom: hypothesis profile '{DEV}' (auto)" in lines
    assert f"PROFILE {DEV} 50 False" in lines, result.outlines


def test_auto_loads_the_ci_profile_on_ci(profile_session, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result, lines = profile_session(ini=f"{INI_OPTION} = auto")
    assert f"PROFILE {CI} 300 True" in lines, result.outlines


def test_the_ini_option_chooses_a_profile(profile_session):
    result, lines = profile_session(ini=f"{INI_OPTION} = {THOROUGH}")
    assert f"PROFILE {THOROUGH} 3000 False" in lines, result.outlines


def test_the_environment_variable_wins_over_the_ini_option(profile_session, monkeypatch):
    monkeypatch.setenv(ENV_VAR, CI)
    result, lines = profile_session(ini=f"{INI_OPTION} = {THOROUGH}")
    assert f"PROFILE {CI} 300 True" in lines, result.outlines


def test_hypothesis_profile_flag_wins_and_can_name_our_profiles(profile_session, monkeypatch):
    monkeypatch.setenv(ENV_VAR, CI)
    result, lines = profile_session("--hypothesis-profile", THOROUGH)
    assert f"PROFILE {THOROUGH} 3000 False" in lines, result.outlines


def test_a_profile_loaded_by_a_conftest_wins_over_auto(profile_session):
    conftest = """
        from hypothesis import settings

        settings.register_profile("mine", max_examples=7)
        settings.load_profile("mine")
    """
    result, lines = profile_session(ini=f"{INI_OPTION} = auto", conftest=conftest)
    assert "PROFILE mine 7 False" in lines, result.outlines


def test_none_leaves_hypothesis_alone(profile_session):
    result, lines = profile_session(ini=f"{INI_OPTION} = none")
    assert "PROFILE default 100 False" in lines, result.outlines
    assert not any(line.startswith("pytest_xcom:") for line in lines)


def test_an_unknown_profile_is_a_usage_error(profile_session):
    result, _ = profile_session(ini=f"{INI_OPTION} = pytest_xcom-fast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*names hypothesis profile 'pytest_xcom-fast', which is not registered*"])


def _plugin_wires_profiles() -> bool:
    import inspect

    from pytest_xcom import plugin

    return "_hypothesis" in inspect.getsource(plugin)


@pytest.mark.skipif(
    not _plugin_wires_profiles(), reason="plugin.py does not call pytest_xcom._hypothesis yet"
)
def test_the_plugin_registers_the_ini_option_and_the_profiles(pytester, monkeypatch):
    for name in _CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_show=textwrap.dedent(_SHOW_PROFILE))
    pytester.makeini(f"[pytest]\n{INI_OPTION} = {THOROUGH}\n")

    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly", "-s")

    assert f"PROFILE {THOROUGH} 3000 False" in result.outlines
    assert any(line.startswith("pytest_xcom: hypothesis profile") for line in result.outlines)
