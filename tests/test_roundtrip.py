"""roundtrip() and assert_roundtrips(): what a downstream task receives, and where a value changes."""

from __future__ import annotations

import datetime
import decimal
import math

import pendulum
import pytest
from airflow.sdk.exceptions import AirflowRuntimeError
from hypothesis import given, settings
from hypothesis import strategies as st

import pytest_xcom
from pytest_xcom import _compat
from pytest_xcom import roundtrips as roundtrip_module
from pytest_xcom.comms import InMemorySupervisorComms, installed
from pytest_xcom.roundtrips import Point, Priority, Reading, _Outcome, _same, assert_roundtrips, roundtrip
from pytest_xcom.store import XComStore
from pytest_xcom.strategies import refused_values, transformed_values, xcom_values

no_deadline = settings(deadline=None)


def _isort_order(name: str) -> tuple:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    return (not name.isupper(), not name[0].isupper(), name)


def test_all_is_sorted():
    assert roundtrip_module.__all__ == sorted(roundtrip_module.__all__, key=_isort_order)
    assert all(hasattr(roundtrip_module, name) for name in roundtrip_module.__all__)


# -- roundtrip ------------------------------------------------------------------------------------------


def test_roundtrip_returns_what_a_downstream_task_receives():
    assert roundtrip({1: (2, 3)}) == {"1": (2, 3)}
    assert type(roundtrip(Priority.HIGH)) is int
    assert roundtrip(decimal.Decimal("1.10")) == decimal.Decimal("1.1")


def test_roundtrip_agrees_with_a_task_pulling_from_the_store(xcom_store, task_context):
    value = {"when": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC), "rows": [Point(1, 2)]}
    task_context("upstream")["ti"].xcom_push("payload", value)

    pulled = task_context("downstream")["ti"].xcom_pull(task_ids="upstream", key="payload")

    assert _same(roundtrip(value), pulled)
    assert _same(roundtrip(value), xcom_store.get("upstream", key="payload"))


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"raw", TypeError),
        (math.nan, AirflowRuntimeError),
        (2**64, OverflowError),
        ("\ud800", UnicodeEncodeError),
        ({"__classname__": 1}, AttributeError),
        (Reading("t1", 1.0), ImportError),
    ],
)
def test_roundtrip_raises_airflows_own_exception(value, error):
    with pytest.raises(error):
        roundtrip(value)


def test_a_datetime_from_a_frozen_clock_travels_as_a_real_one():
    from freezegun import freeze_time

    with freeze_time("2024-06-01 12:00:00"):
        now = datetime.datetime.now(datetime.UTC)
        today = datetime.date.today()
        received = roundtrip([now, today])

    assert type(now).__name__ == "FakeDatetime"
    assert received == [datetime.datetime(2024, 6, 1, 12, tzinfo=pendulum.UTC), datetime.date(2024, 6, 1)]
    # Rebuilt while the clock is frozen, they are freezegun's again, as any datetime made there is.
    assert isinstance(received[0], datetime.datetime) and not isinstance(received[1], datetime.datetime)
    assert "freezegun.api.FakeDatetime" not in _compat.serde_registry()  # put back as it was


_some_values = st.one_of(
    xcom_values(max_depth=1),
    transformed_values(max_depth=1).map(lambda pair: pair[0]),
    refused_values(max_depth=1).map(lambda pair: pair[0]),
)


@no_deadline
@given(_some_values)
def test_roundtrip_leaves_no_comms_channel_behind(value):
    previous = _compat.get_supervisor_comms()
    try:
        roundtrip(value)
    except Exception:
        pass
    assert _compat.get_supervisor_comms() is previous


@no_deadline
@given(_some_values)
def test_roundtrip_leaves_an_installed_channel_and_its_store_alone(value):
    store = XComStore()
    channel = InMemorySupervisorComms(store=store)
    with installed(channel):
        try:
            roundtrip(value)
        except Exception:
            pass
        assert _compat.get_supervisor_comms() is channel
    assert len(store) == 0


@no_deadline
@given(_some_values)
def test_assert_roundtrips_fails_exactly_when_the_value_changes_or_is_refused(value):
    try:
        received = roundtrip(value)
    except Exception as e:
        assert f"\n  {type(e).__name__}: " in _message(value)
        return
    if _same(value, received):
        assert_roundtrips(value)
    else:
        with pytest.raises(AssertionError, match="changes this value"):
            assert_roundtrips(value)


# -- assert_roundtrips: where a value changed -----------------------------------------------------------


def _message(value, **kwargs) -> str:
    with pytest.raises(AssertionError) as failure:
        assert_roundtrips(value, **kwargs)
    return str(failure.value)


def test_a_changed_zone_is_reported_at_its_path():
    when = datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)
    message = _message({"rows": [{"id": 1}, {"when": when}]}, name="result")

    assert (
        "  result['rows'][1]['when']: datetime 2024-01-02 00:00:00+00:00 (tzinfo datetime.timezone.utc) "
        "became datetime 2024-01-02 00:00:00+00:00 (tzinfo pendulum Timezone('UTC'))"
    ) in message.splitlines()


def test_a_naive_datetime_that_loses_its_microseconds():
    message = _message([datetime.datetime(3000, 1, 1, 0, 0, 0, 1)])

    assert (
        "  value[0]: naive datetime 3000-01-01 00:00:00.000001 became naive datetime 3000-01-01 00:00:00"
        in (message.splitlines())
    )


def test_types_that_change_are_named():
    message = _message([Point(1, 2), Priority.HIGH, {7: "seven"}, decimal.Decimal("1.10")])

    assert message.splitlines()[1:5] == [
        "  value[0]: pytest_xcom.roundtrips.Point became tuple",
        "  value[1]: pytest_xcom.roundtrips.Priority <Priority.HIGH: 3> became int 3",
        "  value[2][7]: key int 7 became str '7'",
        "  value[3]: Decimal('1.10') became Decimal('1.1')",
    ]
    assert message.splitlines()[-2:] == [
        "pushed:   [Point(x=1, y=2), <Priority.HIGH: 3>, {7: 'seven'}, Decimal('1.10')]",
        "received: [(1, 2), 3, {'7': 'seven'}, Decimal('1.1')]",
    ]


def test_a_nonexistent_wall_time_is_reported_with_what_it_became():
    paris = pendulum.timezone("Europe/Paris")
    message = _message(datetime.datetime(2024, 3, 31, 2, 30, tzinfo=paris))

    assert "value: datetime 2024-03-31 02:30:00+01:00" in message
    assert "became datetime 2024-03-31 03:30:00+02:00" in message


@pytest.mark.parametrize(
    ("pushed", "received", "line"),
    [
        ([1, 2, (3,)], [1, 2, [3]], "value[2]: tuple became list"),
        ([1], [True], "value[0]: int 1 became bool True"),
        ({"a": 1.0}, {"a": 1}, "value['a']: float 1.0 became int 1"),
        ([0.0], [-0.0], "value[0]: float 0.0 became float -0.0"),
        ((1, 2, 3), (1, 2), "value: tuple of 3 items became one of 2 items"),
        ({1, 2}, {1, "2"}, "value: set elements int 2 became str '2'"),
        ({"a": 1, "b": 2}, {"a": 1}, "value['b']: key str 'b' is missing"),
        ({"a": 1}, {"a": 1, "b": 2}, "value['b']: key str 'b' appeared"),
    ],
)
def test_every_kind_of_change_has_a_line(monkeypatch, pushed, received, line):
    # Changes the real path does not make, to check the comparison itself.
    monkeypatch.setattr(roundtrip_module, "_attempt", lambda value: _Outcome(value=received))

    assert f"  {line}" in _message(pushed).splitlines()


def test_a_long_list_of_changes_is_cut_short():
    message = _message([{i: i} for i in range(15)])

    assert "  ... and 5 more change(s)" in message.splitlines()


def test_values_that_are_equal_but_written_differently_are_changes():
    # Decimal('1E+3') == Decimal('1000'), and a fixed +00:00 zone is UTC: still not what was pushed.
    assert "  value: Decimal('1E+3') became Decimal('1000')" in _message(decimal.Decimal("1E+3")).splitlines()
    zero = datetime.datetime(2024, 1, 1, tzinfo=pendulum.FixedTimezone(0))
    assert "tzinfo pendulum Timezone('UTC')" in _message(zero)


# -- assert_roundtrips: which step refused a value --------------------------------------------------------


def test_a_refused_part_is_found_inside_the_value():
    message = _message({"id": 1, "payload": [1, b"raw"]})
    # serde's own words for bytes, which each Airflow version words its own way.
    with pytest.raises(TypeError) as serde_refusal:
        _compat.serialize(b"raw")

    assert message.splitlines() == [
        "Airflow refuses this value on push, in serde.serialize (the XCom backend's serialize_value) in the "
        "pushing task:",
        f"  TypeError: {serde_refusal.value}",
        "  the refused part: value['payload'][1]: bytes b'raw'",
    ]


@pytest.mark.parametrize(
    ("value", "step", "error"),
    [
        (
            [1.0, math.inf],
            "on push, in the supervisor's HTTP request to the API server (httpx json=: no NaN, UTF-8):",
            "AirflowRuntimeError: API_SERVER_ERROR",
        ),
        (
            (1, 2**70),
            "on push, in the msgpack frame from the pushing task to its supervisor:",
            "OverflowError",
        ),
        ({"\ud800": 1}, "on push, in the msgpack frame", "UnicodeEncodeError"),
        ({"a": {"__id__": 3}}, "on push, in serde.serialize", "AttributeError: reserved key"),
        ([Reading("t1", 1.0)], "on pull, in serde.deserialize", "ImportError"),
        (
            {"at": datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))},
            "on pull, in serde.deserialize",
            "ValueError",
        ),
    ],
)
def test_the_refusing_step_is_named(value, step, error):
    head, error_line, *_ = _message(value).splitlines()

    assert head.startswith(f"Airflow refuses this value {step}")
    assert error_line.startswith(f"  {error}")


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"\ud800": 1}, "  the refused part: value['\\ud800'] (the key): str '\\ud800'"),
        ({"a": {"__id__": 3}}, "  the refused part: value['a']: dict {'__id__': 3}"),
        ([[1, [2, 2**70]]], "  the refused part: value[0][1][1]: int 1180591620717411303424"),
        (
            frozenset({1, 2**70}),
            "  the refused part: value (the element 1180591620717411303424): int 1180591620717411303424",
        ),
    ],
)
def test_the_refused_part_is_the_innermost_one(value, where):
    assert where in _message(value).splitlines()


def test_a_refused_value_on_its_own_needs_no_path():
    assert len(_message(b"raw").splitlines()) == 2


def test_a_failure_points_at_the_callers_line(pytester):
    pytester.makepyfile(
        test_hidden="""
        from pytest_xcom.roundtrips import assert_roundtrips

        def test_payload():
            assert_roundtrips({"ids": (1, 2), "raw": b"x"})
        """
    )
    result = pytester.runpytest("-p", "pytest_xcom", "-p", "no:randomly")

    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert (
        "E         the refused part: value['raw']: bytes b'x'\n\ntest_hidden.py:4: AssertionError" in output
    )
    assert "roundtrips.py" not in output


@pytest.mark.skipif(
    "roundtrip" not in pytest_xcom.__all__, reason="pytest_xcom/__init__.py does not export it yet"
)
def test_the_helpers_are_exported_from_the_package():
    import pytest_xcom.roundtrips  # importing the module must not shadow the function

    assert pytest_xcom.roundtrip is roundtrip
    assert pytest_xcom.assert_roundtrips is assert_roundtrips
    assert {"assert_roundtrips", "roundtrip"} <= set(pytest_xcom.__all__)
