"""The value round-trip table, checked against Airflow's own wire path.

The reference (``airflow_reference``) is built only from Airflow's and httpx's real pieces (serde, the
comms request and response frames over a real socket pair, the supervisor's request decoder, the HTTP
client's JSON encoder, the API server's body and response models, BaseXCom.deserialize_value) and shares no
code with pytest_xcom.comms. Each row of the table is asserted three ways: the reference against what the
README says, and the store (seed + get) and a task (xcom_push + xcom_pull through task_context) against
the reference.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math
import pathlib
import time
import uuid
import zoneinfo
from typing import Any, NamedTuple

import pendulum
import pydantic
import pytest
from airflow.sdk.exceptions import AirflowRuntimeError
from airflow_reference import outcome_of, reference_outcome, reference_roundtrip, same_value

from pytest_xcom import _compat

# -- the table ------------------------------------------------------------------------------------


class Point(NamedTuple):
    x: int
    y: int


class Colour(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 3


class Mode(str, enum.Enum):  # noqa: UP042 - the classic str-mixin Enum, as users write it
    FAST = "fast"


@dataclasses.dataclass
class Order:
    order_id: int


class OrderModel(pydantic.BaseModel):
    order_id: int


class Opaque:
    pass


SAME = ("same",)


def becomes(expected: Any) -> tuple:
    return ("becomes", expected)


def push_raises(exc: type[BaseException], match: str) -> tuple:
    return ("push raises", exc, match)


def pull_raises(exc: type[BaseException], match: str) -> tuple:
    return ("pull raises", exc, match)


def on_airflow(minors: dict[tuple[int, int], tuple], otherwise: tuple) -> tuple:
    """The expectation on the installed Airflow: ``minors[(3, 0)]`` on 3.0, ..., else ``otherwise``."""
    return minors.get(_compat.AIRFLOW_MINOR, otherwise)


PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# serde's refusal, capitalised (with advice after it) from Airflow 3.3.
NOT_SERIALIZABLE = "Cannot serialize object of type"
if _compat.AIRFLOW_MINOR < (3, 3):
    NOT_SERIALIZABLE = "cannot serialize object of type"
# Airflow 3.0 and 3.1 have no serde serializer for UUID, 3.0 none for pydantic models.
UUID_REFUSED = {minor: push_raises(TypeError, NOT_SERIALIZABLE) for minor in [(3, 0), (3, 1)]}

# Airflow 3.0's XCom route requires a body, and the API client sends none for None.
NONE_REFUSED = push_raises(AirflowRuntimeError, "Field required")

# (row of the README table, id, value, what a downstream task receives)
ROWS = [
    ("plain", "int", 42, SAME),
    ("plain", "int64-min", -(2**63), SAME),
    ("plain", "uint64-max", 2**64 - 1, SAME),
    ("plain", "float", 2.5, SAME),
    ("plain", "negative-zero", -0.0, SAME),
    ("plain", "str", "naïve ☃", SAME),
    ("plain", "bool", True, SAME),
    ("plain", "none", None, on_airflow({(3, 0): NONE_REFUSED}, SAME)),
    ("plain", "list", [1, "a", [2.5, None]], SAME),
    ("plain", "dict", {"a": {"b": [1, 2]}, "c": None}, SAME),
    ("plain", "empty-containers", [[], {}, (), set()], SAME),
    ("typed", "tuple", (1, "a"), SAME),
    ("typed", "set", {1, 2, 3}, SAME),
    ("typed", "frozenset", frozenset({"a", "b"}), SAME),
    ("typed", "nested", [(1, {2, 3}), {"k": frozenset({(4, 5)})}, {"t": (6, (7,))}], SAME),
    ("typed", "date", dt.date(2024, 2, 29), SAME),
    ("typed", "timedelta", dt.timedelta(days=1, microseconds=5), SAME),
    ("typed", "uuid", uuid.UUID("12345678-1234-5678-1234-567812345678"), on_airflow(UUID_REFUSED, SAME)),
    ("typed", "pendulum-datetime", pendulum.datetime(2024, 3, 31, 1, 30, tz="Europe/Paris"), SAME),
    # A stdlib or zoneinfo zone arrives as pendulum's zone of the same name: the same instant, wall time
    # and UTC offset, but not the same tzinfo.
    (
        "zone",
        "aware-datetime-utc",
        dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        becomes(dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=pendulum.UTC)),
    ),
    (
        "zone",
        "aware-datetime-zoneinfo",
        dt.datetime(2024, 7, 1, 12, tzinfo=PARIS),
        becomes(dt.datetime(2024, 7, 1, 12, tzinfo=pendulum.timezone("Europe/Paris"))),
    ),
    ("keys", "int-keys", {1: "a", 2: "b"}, becomes({"1": "a", "2": "b"})),
    ("keys", "none-key", {None: 1}, becomes({"None": 1})),
    ("keys", "tuple-key", {(1, 2): 1}, becomes({"(1, 2)": 1})),
    ("keys", "bool-and-float-keys", {True: 1, 1.5: 2}, becomes({"True": 1, "1.5": 2})),
    ("lossy", "namedtuple", Point(1, 2), becomes((1, 2))),
    ("lossy", "int-enum", Level.HIGH, becomes(3)),
    ("lossy", "str-enum", Mode.FAST, becomes("fast")),
    ("lossy", "decimal", decimal.Decimal("1.10"), becomes(decimal.Decimal("1.1"))),
    ("naive", "naive-datetime", dt.datetime(2024, 1, 2, 3, 4, 5), SAME),
    ("allow-list", "dataclass", Order(1), pull_raises(ImportError, "not found in allow list")),
    (
        "allow-list",
        "pydantic-model",
        OrderModel(order_id=1),
        on_airflow(
            {(3, 0): push_raises(TypeError, NOT_SERIALIZABLE)},
            pull_raises(ImportError, "not found in allow list"),
        ),
    ),
    ("refused", "bytes", b"x", push_raises(TypeError, NOT_SERIALIZABLE)),
    ("refused", "bytearray", bytearray(b"x"), push_raises(TypeError, NOT_SERIALIZABLE)),
    ("refused", "complex", 1j, push_raises(TypeError, NOT_SERIALIZABLE)),
    ("refused", "time", dt.time(12, 30), push_raises(TypeError, NOT_SERIALIZABLE)),
    ("refused", "path", pathlib.Path("/tmp/x"), push_raises(TypeError, NOT_SERIALIZABLE)),
    ("refused", "plain-enum", Colour.RED, push_raises(TypeError, NOT_SERIALIZABLE)),
    ("refused", "object", Opaque(), push_raises(TypeError, NOT_SERIALIZABLE)),
    ("refused", "object-in-list", [1, Opaque()], push_raises(TypeError, NOT_SERIALIZABLE)),
    ("json", "nan", math.nan, push_raises(AirflowRuntimeError, "Out of range float values are not JSON")),
    ("json", "inf", [math.inf], push_raises(AirflowRuntimeError, "Out of range float values are not JSON")),
    ("msgpack", "int-2**64", 2**64, push_raises(OverflowError, "can't serialize ints")),
    ("msgpack", "int-below-int64", -(2**63) - 1, push_raises(OverflowError, "can't serialize ints")),
    ("msgpack", "lone-surrogate", "\ud800", push_raises(UnicodeEncodeError, "surrogates not allowed")),
    ("reserved", "classname-key", {"__classname__": "x"}, push_raises(AttributeError, "reserved key")),
    ("reserved", "id-key", {"__id__": 1}, push_raises(AttributeError, "reserved key")),
    ("reserved", "legacy-type-var-keys", {"__type": "dict", "__var": {"a": 1}}, becomes({"a": 1})),
    (
        "fixed-offset",
        "stdlib-fixed-offset",
        dt.datetime(2024, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        pull_raises(ValueError, "ZoneInfo keys must be normalized"),
    ),
    (
        "fixed-offset",
        "pendulum-fixed-offset",
        pendulum.datetime(2024, 1, 2, tz=pendulum.FixedTimezone(7200)),
        SAME,
    ),
]

PARAMS = [pytest.param(value, outcome, id=f"{row}:{name}") for row, name, value, outcome in ROWS]


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), PARAMS)
def test_reference_agrees_with_the_table(value, expected):
    outcome = reference_outcome(value)

    kind = expected[0]
    if kind == "same":
        assert outcome.phase == "ok" and same_value(outcome.value, value), outcome
    elif kind == "becomes":
        assert outcome.phase == "ok" and same_value(outcome.value, expected[1]), outcome
    else:
        exc_type, match = expected[1:]
        assert outcome.phase == kind.split()[0], outcome
        assert type(outcome.value) is exc_type and match in str(outcome.value), outcome


@pytest.mark.parametrize(("value", "expected"), PARAMS)
def test_store_seed_and_get_match_the_reference(xcom_store, value, expected):
    outcome = outcome_of(lambda: xcom_store.seed("upstream", value), lambda: xcom_store.get("upstream"))

    reference = reference_outcome(value)
    assert outcome.agrees_with(reference), f"fake {outcome} != real {reference}"


@pytest.mark.parametrize(("value", "expected"), PARAMS)
def test_task_push_and_pull_match_the_reference(task_context, value, expected):
    pusher = task_context("upstream")["ti"]
    puller = task_context("downstream")["ti"]

    outcome = outcome_of(
        lambda: pusher.xcom_push(key="payload", value=value),
        lambda: puller.xcom_pull(task_ids="upstream", key="payload"),
    )

    reference = reference_outcome(value)
    assert outcome.agrees_with(reference), f"fake {outcome} != real {reference}"


def test_refused_json_is_reported_as_the_supervisor_reports_it(xcom_store):
    with pytest.raises(AirflowRuntimeError) as fake:
        xcom_store.seed("upstream", math.nan)
    with pytest.raises(AirflowRuntimeError) as real:
        reference_roundtrip(math.nan)

    assert fake.value.error == real.value.error


@pytest.fixture
def local_time_zone(monkeypatch):
    """Set the process's local time zone (TZ) for the test, and put it back after."""

    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


def test_naive_datetime_is_stored_in_the_workers_local_time(xcom_store, local_time_zone):
    naive = dt.datetime(2024, 1, 1, 9, 0)

    local_time_zone("Asia/Tokyo")
    xcom_store.seed("upstream", naive)
    assert reference_roundtrip(naive) == xcom_store.get("upstream") == naive

    # A worker in another zone reads the same instant as a different wall-clock time.
    local_time_zone("UTC")
    assert xcom_store.get("upstream") == dt.datetime(2024, 1, 1, 0, 0)
