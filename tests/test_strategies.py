"""Every public strategy in pytest_xcom.strategies, exercised by a property of what it promises."""

from __future__ import annotations

import datetime
import decimal
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pendulum
import pytest
from airflow.sdk import DAG, BaseOperator
from airflow.sdk.api.client import Client
from airflow.sdk.definitions._internal.node import validate_key
from airflow_reference import reference_outcome
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_xcom import _compat, strategies
from pytest_xcom.comms import installed
from pytest_xcom.context import TaskContextFactory
from pytest_xcom.roundtrips import _same, assert_roundtrips, roundtrip
from pytest_xcom.store import XComStore
from pytest_xcom.strategies import (
    CONTAINER_KINDS,
    LEAF_KINDS,
    refused_values,
    task_ids,
    transformed_values,
    xcom_keys,
    xcom_values,
)

# The first example may pay for Airflow's lazy imports: no deadline. Example counts come from the profile.
no_deadline = settings(deadline=None)
# The leaf kinds the installed Airflow serializes (UUID from 3.2).
USABLE_LEAF_KINDS = [kind for kind in LEAF_KINDS if kind != "uuid" or _compat.has_serializer("uuid.UUID")]


def test_all_is_sorted_and_every_public_strategy_has_a_property_here():
    assert strategies.__all__ == sorted(strategies.__all__)
    source = open(__file__, encoding="utf-8").read()
    for name in strategies.__all__:
        assert hasattr(strategies, name), name
        if callable(getattr(strategies, name)):
            assert f"@given({name}(" in source or f"data.draw({name}(" in source, name


def test_importing_the_strategies_does_not_import_airflow():
    code = (
        "import sys, pytest_xcom.strategies; print(sorted(m for m in sys.modules if m.startswith('airflow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "[]"


# -- xcom_values ----------------------------------------------------------------------------------------


def _kind(leaf: Any) -> str:
    kinds = {
        type(None): "none",
        bool: "bool",
        int: "int",
        float: "float",
        str: "str",
        decimal.Decimal: "decimal",
        uuid.UUID: "uuid",
        datetime.timedelta: "timedelta",
        datetime.date: "date",
        pendulum.Date: "date",
        datetime.datetime: "datetime",
        pendulum.DateTime: "datetime",
    }
    return kinds[type(leaf)]


def _walk(value: Any, depth: int = 0):
    """(depth, container or leaf) for every part of ``value``; a leaf at depth d is inside d containers."""
    yield depth, value
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        return
    for item in items:
        yield from _walk(item, depth + 1)


_CONTAINER_NAMES = {dict: "dict", list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}


@no_deadline
@given(xcom_values())
def test_xcom_values_reach_a_downstream_task_exactly(value):
    assert_roundtrips(value)


@no_deadline
@given(st.data())
def test_xcom_values_hold_only_the_chosen_leaves_and_containers(data):
    leaves = data.draw(st.sets(st.sampled_from(USABLE_LEAF_KINDS), min_size=1), label="leaves")
    containers = data.draw(st.sets(st.sampled_from(CONTAINER_KINDS)), label="containers")
    if leaves == {"none"} and not containers and _compat.XCOM_NONE_REFUSED:
        with pytest.raises(InvalidArgument, match="refuses an XCom whose whole value is None"):
            data.draw(xcom_values(leaves=leaves, containers=containers))
        return
    value = data.draw(xcom_values(leaves=leaves, containers=containers), label="value")

    for _, part in _walk(value):
        if type(part) in _CONTAINER_NAMES:
            assert _CONTAINER_NAMES[type(part)] in containers, part
        else:
            assert _kind(part) in leaves, part
    assert_roundtrips(value)


@given(st.data())
def test_xcom_values_respect_max_depth_and_max_size(data):
    max_depth = data.draw(st.integers(0, 3), label="max_depth")
    max_size = data.draw(st.integers(0, 4), label="max_size")
    value = data.draw(xcom_values(max_depth=max_depth, max_size=max_size), label="value")

    for depth, part in _walk(value):
        if type(part) in _CONTAINER_NAMES:
            assert depth < max_depth, (depth, part)
            assert len(part) <= max_size, part
        else:
            assert depth <= max_depth, (depth, part)


@pytest.mark.parametrize(
    ("classname", "value"),
    [("uuid.UUID", uuid.UUID(int=7)), ("pendulum.date.Date", pendulum.Date(2024, 2, 29))],
)
def test_a_class_serde_lacks_is_refused_on_a_real_worker(classname, value):
    # What the strategies ask has_serializer() is what the worker's path does with such a value.
    outcome = reference_outcome(value)
    if _compat.has_serializer(classname):
        assert outcome.phase == "ok" and _same(outcome.value, value), outcome
    else:
        assert outcome.phase == "push" and type(outcome.value) is TypeError, outcome


@pytest.mark.skipif(_compat.has_serializer("uuid.UUID"), reason="this Airflow serializes UUIDs")
def test_asking_for_a_leaf_this_airflow_cannot_serialize_is_an_error():
    with pytest.raises(InvalidArgument, match=r"leaves \['uuid'\]: Airflow .* cannot serialize uuid.UUID"):
        find(xcom_values(leaves=["uuid"]), lambda value: True)


@no_deadline
@given(xcom_values(max_depth=0))
def test_xcom_values_hold_only_leaves_this_airflow_serializes(value):
    if not _compat.has_serializer("uuid.UUID"):
        assert not isinstance(value, uuid.UUID)
    if not _compat.has_serializer("pendulum.date.Date"):
        assert type(value) is not pendulum.Date


@no_deadline
@given(refused_values(max_depth=0))
def test_refused_values_hold_what_this_airflow_cannot_serialize(pair):
    value, error = pair
    if type(value) in (uuid.UUID, pendulum.Date):
        assert not _compat.has_serializer(f"{type(value).__module__}.{type(value).__qualname__}")
        assert error is TypeError


def _has(predicate):
    return lambda value: any(predicate(part) for _, part in _walk(value))


def _negative_decimal(part: Any) -> bool:
    return isinstance(part, decimal.Decimal) and part.as_tuple().exponent < 0


DATETIMES = {"leaves": ["datetime"], "max_depth": 0}


@pytest.mark.parametrize(
    ("what", "options", "predicate"),
    [
        ("a pendulum DateTime", DATETIMES, lambda p: type(p) is pendulum.DateTime),
        ("a datetime in a named zone", DATETIMES, lambda p: "/" in str(p.tzinfo)),
        ("a datetime at a fixed offset", DATETIMES, lambda p: isinstance(p.tzinfo, pendulum.FixedTimezone)),
        ("the later of two equal wall times", DATETIMES, lambda p: p.fold == 1),
        ("a datetime with microseconds", DATETIMES, lambda p: p.microsecond != 0),
        ("a datetime before 1900", DATETIMES, lambda p: p.year < 1900),
        pytest.param(
            "a pendulum Date",
            {"leaves": ["date"]},
            lambda p: type(p) is pendulum.Date,
            marks=pytest.mark.skipif(
                not _compat.has_serializer("pendulum.date.Date"), reason="Airflow 3.0 cannot serialize it"
            ),
        ),
        ("a Decimal with a negative exponent", {"leaves": ["decimal"]}, _has(_negative_decimal)),
        ("an int beyond int64", {"leaves": ["int"], "max_depth": 0}, lambda p: p > 2**63),
        (
            "a frozenset inside a set",
            {},
            _has(lambda p: isinstance(p, set) and any(type(e) is frozenset for e in p)),
        ),
        ("a dict inside a list", {}, _has(lambda p: isinstance(p, list) and any(type(e) is dict for e in p))),
    ],
)
def test_xcom_values_reach_the_corners(what, options, predicate):
    found = find(xcom_values(**options), predicate, settings=settings(max_examples=5000, database=None))
    assert_roundtrips(found)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_depth": -1},
        {"max_size": -2},
        {"max_depth": 1.5},
        {"leaves": ["int", "bytes"]},
        {"leaves": []},
        {"leaves": "int"},
        {"containers": ["queue"]},
    ],
)
def test_xcom_values_reject_bad_arguments(kwargs):
    with pytest.raises(InvalidArgument):
        xcom_values(**kwargs)


# -- transformed_values and refused_values ----------------------------------------------------------


@no_deadline
@given(transformed_values())
def test_transformed_values_arrive_as_the_pair_says_and_not_as_pushed(pair):
    value, received = pair

    assert _same(roundtrip(value), received)
    assert not _same(value, received)
    with pytest.raises(AssertionError, match="changes this value"):
        assert_roundtrips(value)


@no_deadline
@given(st.data())
def test_transformed_values_without_nesting_are_changed_too(data):
    value, received = data.draw(transformed_values(max_depth=0, max_size=data.draw(st.integers(0, 3))))

    assert not _same(value, received)
    assert _same(roundtrip(value), received)


@no_deadline
@given(refused_values())
def test_refused_values_raise_the_paired_exception(pair):
    value, error = pair

    with pytest.raises(error):
        roundtrip(value)
    with pytest.raises(AssertionError) as failure:
        assert_roundtrips(value)
    assert f"\n  {error.__name__}: " in str(failure.value)


@pytest.mark.parametrize("strategy", [transformed_values, refused_values])
@pytest.mark.parametrize("kwargs", [{"max_depth": -1}, {"max_size": -1}])
def test_pair_strategies_reject_bad_arguments(strategy, kwargs):
    with pytest.raises(InvalidArgument):
        strategy(**kwargs)


# -- task_ids and xcom_keys ------------------------------------------------------------------------------


def _paths_the_api_server_sees(task_id: str, key: str) -> list[str]:
    """The URL paths Airflow's own API client requests for a push, a pull and a delete of this XCom."""
    seen: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"key": key, "value": None})

    with Client(
        base_url="http://api-server/execution/", token="token", transport=httpx.MockTransport(server)
    ) as c:
        c.xcoms.set("dag", "run", task_id, key, 1)
        c.xcoms.get("dag", "run", task_id, key)
        c.xcoms.delete("dag", "run", task_id, key)
    return seen


@given(task_ids(), xcom_keys())
def test_task_ids_and_keys_reach_the_api_server_unchanged(task_id, key):
    expected = f"/execution/xcoms/dag/run/{task_id}/{key}"

    assert _paths_the_api_server_sees(task_id, key) == [expected] * 3


def test_the_url_check_catches_keys_that_do_not_survive():
    assert _paths_the_api_server_sees("task", "a?b") != ["/execution/xcoms/dag/run/task/a?b"] * 3
    assert _paths_the_api_server_sees("task", "..") != ["/execution/xcoms/dag/run/task/.."] * 3


@no_deadline
@given(task_ids())
def test_task_ids_are_accepted_by_airflow(task_id):
    validate_key(task_id)
    with DAG(dag_id="ids", schedule=None):
        assert BaseOperator(task_id=task_id).task_id == task_id


@no_deadline
@given(task_ids(max_size=40), task_ids(max_size=40), xcom_keys())
def test_a_task_pulls_what_another_pushed_under_any_generated_ids(upstream, downstream, key):
    store = XComStore()
    factory = TaskContextFactory(store=store)
    with installed(store.channel()):
        try:
            factory(upstream)["ti"].xcom_push(key, {"rows": [1, 2]})
            pulled = factory(downstream)["ti"].xcom_pull(task_ids=upstream, key=key)
        finally:
            factory.close()

    assert pulled == {"rows": [1, 2]}


@given(st.data())
def test_ids_respect_max_size(data):
    size = data.draw(st.integers(1, 30), label="max_size")

    assert 1 <= len(data.draw(task_ids(max_size=size))) <= size
    assert 1 <= len(data.draw(xcom_keys(max_size=size))) <= size


@pytest.mark.parametrize(
    ("strategy", "size"), [(task_ids, 0), (task_ids, 251), (xcom_keys, 0), (xcom_keys, 513), (xcom_keys, -1)]
)
def test_ids_reject_sizes_airflow_does_not_allow(strategy, size):
    with pytest.raises(InvalidArgument):
        strategy(max_size=size)


def test_without_the_hypothesis_extra_the_strategies_say_how_to_install_it():
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    import pytest_xcom.strategies\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "pip install 'pytest-xcom[hypothesis]'" in out.stdout, out.stderr
