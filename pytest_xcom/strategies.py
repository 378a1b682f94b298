"""Hypothesis strategies for XCom values, task ids and keys.

- ``xcom_values()``: values a downstream task receives exactly as pushed (equal, and of the same types all
  the way down), on a real Airflow 3 worker and in pytest_xcom.
- ``transformed_values()``: ``(value, received)`` pairs, for values Airflow hands downstream changed.
- ``refused_values()``: ``(value, exception type)`` pairs, for values Airflow refuses on push or pull.
- ``task_ids()``, ``xcom_keys()``: ids Airflow accepts that survive the API server's URLs.

Use them to test code that produces or consumes XComs::

    from hypothesis import given
    from pytest_xcom import assert_roundtrips
    from pytest_xcom.strategies import xcom_values

    @given(xcom_values(leaves=["int", "str", "datetime"]))
    def test_summary_survives_xcom(value):
        assert_roundtrips(summarise(value))

Importing this module does not import Airflow (``refused_values()`` does, for its exception type).
"""

from __future__ import annotations

import collections
import datetime
import decimal
import functools
import math
import pathlib
import string
import zoneinfo
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import pendulum

from pytest_xcom import _msgs
from pytest_xcom.roundtrips import Colour, Mode, Point, Priority, Reading

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as e:  # an extra: its pytest plugin would cost every session of every user ~1 s
    raise ImportError(_msgs.HYPOTHESIS_EXTRA_MISSING) from e

__all__ = [
    "CONTAINER_KINDS",
    "LEAF_KINDS",
    "refused_values",
    "task_ids",
    "transformed_values",
    "xcom_keys",
    "xcom_values",
]

LEAF_KINDS = ("bool", "date", "datetime", "decimal", "float", "int", "none", "str", "timedelta", "uuid")
"""What ``xcom_values(leaves=...)`` can hold: ``date`` includes pendulum Date, ``datetime`` aware
datetimes and pendulum DateTimes in pendulum zones. Only what the installed Airflow's serde serializes:
``uuid`` needs Airflow 3.2 or later, pendulum Dates 3.1 or later."""

CONTAINER_KINDS = ("dict", "frozenset", "list", "set", "tuple")
"""What ``xcom_values(containers=...)`` can nest: dicts have str keys; sets hold hashable values only."""

INT_MIN, INT_MAX = -(2**63), 2**64 - 1  # what the msgpack frame carries
MAX_TASK_ID_LENGTH = 250  # airflow.sdk's validate_key
MAX_KEY_LENGTH = 512  # the xcom table's key column

# A float timestamp holds every microsecond of an instant less than 2**33 seconds (272 years) from 1970.
_PRECISE_SECONDS = 2**33
_PRECISE_DATES = (datetime.datetime(1700, 1, 2), datetime.datetime(2241, 12, 30))
_WHOLE_SECOND_DATES = (datetime.datetime(2, 1, 1), datetime.datetime(9998, 12, 30))

# serde refuses a dict with these keys, and reads one with both old-format keys as its old wrapper.
_RESERVED_KEYS = frozenset({"__classname__", "__id__"})
_OLD_WRAPPER_KEYS = frozenset({"__type", "__var"})

# The characters of an id that Airflow validates (KEY_REGEX) and that reach the API server unchanged in
# the URL path xcoms/{dag_id}/{run_id}/{task_id}/{key}: no "/", "?", "#", "%", and not "." or "..".
_ID_ALPHABET = string.ascii_letters + string.digits + "_-."
_DOT_SEGMENTS = frozenset({".", ".."})

_UTC = pendulum.timezone("UTC")
_FLOAT_LIMIT = 1e16  # from here on repr(float) has an exponent


# -- checking arguments ---------------------------------------------------------------------------


def _kinds(name: str, given: Iterable[str] | None, allowed: tuple[str, ...], *, empty_ok: bool) -> frozenset:
    if given is None:
        return frozenset(allowed)
    if isinstance(given, str):
        raise InvalidArgument(f"{name} must be a collection of names, not the string {given!r}")
    kinds = frozenset(given)
    unknown = sorted(kinds - set(allowed))
    if unknown:
        raise InvalidArgument(f"unknown {name} {unknown}; choose from {list(allowed)}")
    if not kinds and not empty_ok:
        raise InvalidArgument(f"{name} must name at least one of {list(allowed)}")
    return kinds


def _count(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidArgument(f"{name} must be an int >= 0, not {value!r}")
    return value


# -- leaves that round-trip exactly ----------------------------------------------------------------


def _texts() -> st.SearchStrategy[str]:
    # No lone surrogates (refused: they cannot be encoded) and no NUL: PostgreSQL's JSONB refuses \u0000.
    return st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


def _floats() -> st.SearchStrategy[float]:
    # PostgreSQL's JSONB keeps numbers as numeric: -0.0 comes back 0.0, and a float written with a
    # positive exponent (1e+16 and up) comes back without a fraction, so as an int.
    portable = st.floats(min_value=-_FLOAT_LIMIT, max_value=_FLOAT_LIMIT, exclude_min=True, exclude_max=True)
    return portable.filter(lambda f: f != 0 or math.copysign(1.0, f) > 0)


def _pendulum_dates() -> st.SearchStrategy[pendulum.Date]:
    return st.dates().map(lambda d: pendulum.Date(d.year, d.month, d.day))


def _dates() -> st.SearchStrategy[datetime.date]:
    if not _serde_has("pendulum.date.Date"):
        return st.dates()
    return st.dates() | _pendulum_dates()


def _serde_has(classname: str) -> bool:
    """Whether the installed Airflow's serde can serialize ``classname`` (this imports Airflow)."""
    from pytest_xcom import _compat

    return _compat.has_serializer(classname)


# Leaf kinds that exist only where serde has a serializer for their class.
_NEEDS_SERIALIZER = {"uuid": "uuid.UUID"}


def _pendulum_zones() -> st.SearchStrategy[Any]:
    named = st.timezone_keys().map(pendulum.timezone)
    # A zero offset arrives as UTC, a different zone object: only non-zero fixed offsets survive.
    fixed = st.integers(-86399, 86399).filter(bool).map(pendulum.FixedTimezone)
    return st.just(_UTC) | named | fixed


def _exists(value: datetime.datetime) -> bool:
    """Whether a wall time exists in its zone (a time in a DST gap does not)."""
    naive = value.replace(tzinfo=None)
    back = value.astimezone(datetime.UTC).astimezone(value.tzinfo)
    return back.replace(tzinfo=None) == naive


def _ambiguous(value: datetime.datetime) -> bool:
    return value.replace(fold=0).utcoffset() != value.replace(fold=1).utcoffset()


class _Transition(NamedTuple):
    instant: datetime.datetime  # the first instant (UTC, to the second) with the new offset
    before: datetime.timedelta
    after: datetime.timedelta


def _offset(instant: datetime.datetime, tz: Any) -> datetime.timedelta:
    return instant.astimezone(tz).utcoffset() or datetime.timedelta(0)


@functools.lru_cache(maxsize=4096)
def _transitions(key: str, year: int) -> tuple[_Transition, ...]:
    """The UTC offset changes of zone ``key`` in ``year`` (DST starting and ending, zone changes)."""
    tz = pendulum.timezone(key)
    found = []
    week = datetime.timedelta(days=7)  # two changes less than a week apart: the second one is missed
    t = datetime.datetime(year, 1, 1, tzinfo=datetime.UTC)
    offset = _offset(t, tz)
    while t.year == year:
        following = _offset(t + week, tz)
        if following != offset:
            low, high = t, t + week
            while high - low > datetime.timedelta(seconds=1):
                middle = low + (high - low) // 2
                low, high = (middle, high) if _offset(middle, tz) == offset else (low, middle)
            found.append(_Transition(high, offset, following))
            offset = following
        t += week
    return tuple(found)


@st.composite
def _wall_times(draw: st.DrawFn, tz: Any) -> datetime.datetime:
    """A wall time for ``tz``: anywhere, or (in named zones) within an hour of an offset change."""
    key = getattr(tz, "key", None)
    if key and draw(st.booleans()):
        changes = _transitions(key, draw(st.integers(1900, 2100)))
        if changes:
            change = draw(st.sampled_from(changes))
            hour = datetime.timedelta(hours=1)
            nearby = draw(st.timedeltas(min_value=-hour, max_value=hour))
            return (change.instant + change.before).replace(tzinfo=None) + nearby
    if draw(st.booleans()):
        low, high = _PRECISE_DATES
        return draw(st.datetimes(min_value=low, max_value=high))
    low, high = _WHOLE_SECOND_DATES
    return draw(st.datetimes(min_value=low, max_value=high)).replace(microsecond=0)


def _in_zone(cls: type, naive: datetime.datetime, tz: Any, fold: int) -> datetime.datetime:
    fields = (naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second, naive.microsecond)
    return cls(*fields, tzinfo=tz, fold=fold)


@st.composite
def _zoned(draw: st.DrawFn, zones: st.SearchStrategy[Any]) -> datetime.datetime:
    """An existing wall time in a zone drawn from ``zones``; fold=1 only where it picks the offset."""
    cls = draw(st.sampled_from([datetime.datetime, pendulum.DateTime]))
    tz = draw(zones)
    naive, fold = draw(_wall_times(tz)), draw(st.sampled_from([0, 1]))
    # Checked on a stdlib datetime: pendulum's replace() swaps a stdlib UTC for its own zone.
    probe = _in_zone(datetime.datetime, naive, tz, fold)
    assume(_exists(probe))
    return _in_zone(cls, naive, tz, fold if _ambiguous(probe) else 0)


def _timedeltas() -> st.SearchStrategy[datetime.timedelta]:
    limit = datetime.timedelta(seconds=_PRECISE_SECONDS - 1)
    precise = st.timedeltas(min_value=-limit, max_value=limit)
    whole_seconds = st.timedeltas().map(lambda d: d - datetime.timedelta(microseconds=d.microseconds))
    return precise | whole_seconds


def _decimals() -> st.SearchStrategy[decimal.Decimal]:
    # An exponent of 0 travels as an int; a negative one as a float, so only a float's shortest form
    # comes back written the same way.
    integral = st.integers(INT_MIN, INT_MAX).map(decimal.Decimal)
    from_float = _floats().map(lambda f: decimal.Decimal(repr(f))).filter(_negative_exponent)
    return integral | from_float


def _negative_exponent(d: decimal.Decimal) -> bool:
    exponent = d.as_tuple().exponent
    return isinstance(exponent, int) and exponent < 0


_LEAVES: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
    "none": lambda: st.none(),
    "bool": st.booleans,
    "int": lambda: st.integers(INT_MIN, INT_MAX),
    "float": _floats,
    "str": _texts,
    "date": _dates,
    "datetime": lambda: _zoned(_pendulum_zones()),
    "timedelta": _timedeltas,
    "uuid": st.uuids,
    "decimal": _decimals,
}


def _dict_keys() -> st.SearchStrategy[str]:
    return _texts().filter(lambda k: k not in _RESERVED_KEYS)


def _not_old_wrapper(d: dict) -> bool:
    return not _OLD_WRAPPER_KEYS <= d.keys()


def _dicts(values: st.SearchStrategy[Any], max_size: int) -> st.SearchStrategy[dict]:
    return st.dictionaries(_dict_keys(), values, max_size=max_size).filter(_not_old_wrapper)


# -- xcom_values ------------------------------------------------------------------------------------


def xcom_values(
    *,
    max_depth: int = 3,
    max_size: int = 5,
    leaves: Iterable[str] | None = None,
    containers: Iterable[str] | None = None,
) -> st.SearchStrategy[Any]:
    """Values a downstream task receives exactly as pushed: equal, and of the same types all the way down.

    Leaves (``leaves=``, default all of ``LEAF_KINDS``): None (inside a container only on Airflow 3.0,
    whose API server refuses an XCom whose whole value is None), bool, int in [-2**63, 2**64-1], float,
    str (no lone surrogates), date and pendulum Date, timedelta, UUID, Decimal (exponent 0, or a
    float's shortest form), and aware datetimes / pendulum DateTimes in a pendulum zone (named, UTC or
    a non-zero fixed offset; exact to the microsecond within 272 years of 1970, whole seconds up to
    years 2-9998). Left out for a PostgreSQL metadata DB, whose JSONB column refuses NUL in text and
    turns -0.0 into 0.0 and floats beyond ±1e16 into ints: NUL, -0.0 and floats beyond ±1e16.
    Containers (``containers=``, default all of ``CONTAINER_KINDS``): list, tuple, dict with str keys,
    set and frozenset of hashable values, nested up to ``max_depth`` levels (0: leaves only), each with
    at most ``max_size`` items.
    """
    depth = _count("max_depth", max_depth)
    size = _count("max_size", max_size)
    leaf_kinds = _kinds("leaves", leaves, LEAF_KINDS, empty_ok=False)
    container_kinds = _kinds("containers", containers, CONTAINER_KINDS, empty_ok=True)
    # Built at the first draw, so that building the strategy does not import Airflow.
    leaf = st.deferred(lambda: _serializable_leaves(leaf_kinds, chosen=leaves is not None))
    top_leaf = st.deferred(
        lambda: _top_level_leaves(leaf, leaf_kinds, can_nest=depth > 0 and bool(container_kinds))
    )
    return _nested(leaf, depth, size, container_kinds, top_leaf=top_leaf)


def _top_level_leaves(leaf: st.SearchStrategy[Any], kinds: frozenset, *, can_nest: bool) -> st.SearchStrategy:
    from pytest_xcom import _compat

    if "none" not in kinds or not _compat.XCOM_NONE_REFUSED:
        return leaf
    if kinds == {"none"} and not can_nest:
        raise InvalidArgument(
            f"leaves ['none'] with no container: Airflow {_compat.AIRFLOW_VERSION}'s API server refuses an "
            "XCom whose whole value is None; add another leaf kind or a container"
        )
    # None stays a leaf inside containers; only the whole value cannot be None.
    return leaf.filter(lambda value: value is not None)


def _serializable_leaves(kinds: frozenset, *, chosen: bool) -> st.SearchStrategy[Any]:
    lacking = sorted(k for k in kinds if k in _NEEDS_SERIALIZER and not _serde_has(_NEEDS_SERIALIZER[k]))
    if lacking and chosen:
        from pytest_xcom import _compat

        raise InvalidArgument(
            f"leaves {lacking}: Airflow {_compat.AIRFLOW_VERSION} cannot serialize "
            f"{', '.join(_NEEDS_SERIALIZER[k] for k in lacking)} (a task pushing one fails); leave them out"
        )
    return st.one_of([_LEAVES[kind]() for kind in sorted(kinds - set(lacking))])


def _hashables(leaf: st.SearchStrategy[Any], depth: int, size: int, kinds: frozenset) -> st.SearchStrategy:
    if depth == 0:
        return leaf
    inner = _hashables(leaf, depth - 1, size, kinds)
    options = [leaf]
    if "tuple" in kinds:
        options.append(st.lists(inner, max_size=size).map(tuple))
    if "frozenset" in kinds:
        options.append(st.frozensets(inner, max_size=size))
    return st.one_of(options)


def _nested(
    leaf: st.SearchStrategy[Any],
    depth: int,
    size: int,
    kinds: frozenset,
    *,
    top_leaf: st.SearchStrategy[Any] | None = None,
) -> st.SearchStrategy:
    # ``top_leaf``: the leaves this level may be itself, where they differ from those inside containers.
    if depth == 0 or not kinds:
        return top_leaf if top_leaf is not None else leaf
    inner = _nested(leaf, depth - 1, size, kinds)
    hashable = _hashables(leaf, depth - 1, size, kinds)
    options = [top_leaf if top_leaf is not None else leaf]
    if "list" in kinds:
        options.append(st.lists(inner, max_size=size))
    if "tuple" in kinds:
        options.append(st.lists(inner, max_size=size).map(tuple))
    if "dict" in kinds:
        options.append(_dicts(inner, size))
    if "set" in kinds:
        options.append(st.sets(hashable, max_size=size))
    if "frozenset" in kinds:
        options.append(st.frozensets(hashable, max_size=size))
    return st.one_of(options)


# -- transformed_values ------------------------------------------------------------------------------


def _small_exact() -> st.SearchStrategy[Any]:
    return xcom_values(max_depth=1, max_size=3)


def _hashable_exact() -> st.SearchStrategy[Any]:
    return xcom_values(max_depth=1, max_size=3, containers=["tuple", "frozenset"])


def _non_str_keys() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(INT_MIN, INT_MAX),
        st.none(),
        st.booleans(),
        _floats(),
        st.tuples(st.integers(), st.integers()),
        st.binary(max_size=5),
        st.dates(),
        st.uuids(),
    )


@st.composite
def _keys_become_str(draw: st.DrawFn) -> tuple[dict, dict]:
    pairs = draw(st.lists(st.tuples(_non_str_keys(), _small_exact()), min_size=1, max_size=4))
    extra = draw(st.lists(st.tuples(_dict_keys(), _small_exact()), max_size=2))
    value = dict(pairs + extra)
    assume(any(not isinstance(k, str) for k in value))
    # serde writes str(key) for every key, in order: a later key that collides replaces the value.
    received = {str(k): v for k, v in value.items()}
    assume(_not_old_wrapper(received) and not _RESERVED_KEYS & received.keys())
    return value, received


def _airflow_decimal(d: decimal.Decimal) -> decimal.Decimal | None:
    """What the bignum serializer hands back for ``d``; None when Airflow refuses it, or when the
    float it travels as is one PostgreSQL's JSONB would change (see ``_floats``)."""
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        as_int = int(d)
        return decimal.Decimal(str(as_int)) if INT_MIN <= as_int <= INT_MAX else None
    as_float = float(d)
    if not abs(as_float) < _FLOAT_LIMIT or (as_float == 0 and math.copysign(1.0, as_float) < 0):
        return None
    return decimal.Decimal(str(as_float))


@st.composite
def _rewritten_decimals(draw: st.DrawFn) -> tuple[decimal.Decimal, decimal.Decimal]:
    value = draw(st.decimals(allow_nan=False, allow_infinity=False))
    received = _airflow_decimal(value)
    assume(received is not None and str(received) != str(value))
    assert received is not None
    return value, received


@st.composite
def _rezoned(draw: st.DrawFn) -> tuple[datetime.datetime, datetime.datetime]:
    """A datetime in a stdlib, zoneinfo or zero-offset zone: it arrives in pendulum's zone of that name."""
    key = draw(st.timezone_keys())
    zone, received_zone = draw(
        st.sampled_from(
            [
                (zoneinfo.ZoneInfo(key), pendulum.timezone(key)),
                (datetime.UTC, _UTC),
                (datetime.timezone(datetime.timedelta(0), "Z"), _UTC),
                (pendulum.FixedTimezone(0), _UTC),
            ]
        )
    )
    value = draw(_zoned(st.just(zone)))
    received = _in_zone(type(value), value.replace(tzinfo=None), received_zone, value.fold)
    return value, received


# Zones that move their clocks forward most years.
_DST_ZONES = (
    "America/New_York",
    "America/Santiago",
    "Australia/Sydney",
    "Europe/London",
    "Europe/Paris",
    "Pacific/Auckland",
)


@st.composite
def _in_dst_gap(draw: st.DrawFn) -> tuple[datetime.datetime, datetime.datetime]:
    """A wall time that does not exist: it arrives as the instant it denotes, written in the new offset."""
    key = draw(st.sampled_from(_DST_ZONES))
    forward = [c for c in _transitions(key, draw(st.integers(1990, 2037))) if c.after > c.before]
    assume(forward)
    change = draw(st.sampled_from(forward))
    gap_start = (change.instant + change.before).replace(tzinfo=None)
    naive = gap_start + draw(st.timedeltas(datetime.timedelta(0), change.after - change.before))
    tz = pendulum.timezone(key)
    probe = _in_zone(datetime.datetime, naive, tz, 0)
    assume(not _exists(probe))
    instant = probe.astimezone(datetime.UTC).astimezone(tz)
    cls = draw(st.sampled_from([datetime.datetime, pendulum.DateTime]))
    return _in_zone(cls, naive, tz, 0), _in_zone(cls, instant.replace(tzinfo=None), tz, 0)


@st.composite
def _namedtuples(draw: st.DrawFn) -> tuple[Point, tuple]:
    x, y = draw(_small_exact()), draw(_small_exact())
    return Point(x, y), (x, y)


def _enum_values() -> st.SearchStrategy[tuple[Any, Any]]:
    members = [*Priority, *Mode]
    return st.sampled_from(members).map(lambda m: (m, m.value))


@st.composite
def _mapping_subclasses(draw: st.DrawFn) -> tuple[dict, dict]:
    plain = draw(_dicts(_small_exact(), 3))
    makers: list[Callable[[dict], dict]] = [
        collections.OrderedDict,
        lambda d: collections.defaultdict(list, d),
    ]
    return draw(st.sampled_from(makers))(plain), plain


@st.composite
def _old_wrappers(draw: st.DrawFn) -> tuple[dict, dict]:
    inner = draw(_dicts(_small_exact(), 3))
    return {"__type": "dict", "__var": inner}, inner


def _transformed_leaves() -> st.SearchStrategy[tuple[Any, Any]]:
    return st.one_of(
        _keys_become_str(),
        _rewritten_decimals(),
        _rezoned(),
        _in_dst_gap(),
        _namedtuples(),
        _enum_values(),
        _mapping_subclasses(),
        _old_wrappers(),
    )


@st.composite
def _embedded(
    draw: st.DrawFn,
    pairs: st.SearchStrategy[tuple[Any, Any]],
    max_depth: int,
    max_size: int,
    *,
    wrap_both: bool,
) -> tuple[Any, Any]:
    """A pair from ``pairs`` placed inside up to ``max_depth`` lists, tuples or dicts of exact values.

    With ``wrap_both`` the pair's second item (the value received) is wrapped the same way.
    """
    value, other = draw(pairs)
    for _ in range(draw(st.integers(0, max_depth))):
        kind = draw(st.sampled_from(["list", "tuple", "dict"]))
        siblings = draw(st.lists(_small_exact(), max_size=max(max_size - 1, 0)))
        at = draw(st.integers(0, len(siblings)))
        if kind == "dict":
            keys = draw(
                st.lists(_dict_keys(), min_size=len(siblings) + 1, max_size=len(siblings) + 1, unique=True)
            )
            items = list(zip(keys, siblings, strict=False))
            assume(_not_old_wrapper(dict.fromkeys(keys)))
            value = dict([*items[:at], (keys[-1], value), *items[at:]])
            if wrap_both:
                other = dict([*items[:at], (keys[-1], other), *items[at:]])
        else:
            wrap = tuple if kind == "tuple" else list
            value = wrap([*siblings[:at], value, *siblings[at:]])
            if wrap_both:
                other = wrap([*siblings[:at], other, *siblings[at:]])
    return value, other


def transformed_values(*, max_depth: int = 2, max_size: int = 4) -> st.SearchStrategy[tuple[Any, Any]]:
    """``(value, received)`` pairs: ``value`` arrives downstream changed, as ``received``.

    Each value holds one changed part, alone or inside up to ``max_depth`` lists, tuples or dicts of
    exact values: a dict with non-str keys (they become ``str(key)``), a namedtuple (a tuple), an
    IntEnum or str Enum member (its value), a Decimal not in its travelling form (``1.10`` -> ``1.1``,
    ``1E+3`` -> ``1000``, 20 digits -> 17), a datetime in a stdlib, zoneinfo or zero-offset zone (the
    same wall time in pendulum's zone), a wall time in a DST gap (the instant it denotes), an
    OrderedDict or defaultdict (a dict), or serde's old ``{"__type": "dict", "__var": ...}`` wrapper.
    """
    depth, size = _count("max_depth", max_depth), _count("max_size", max_size)
    return _embedded(_transformed_leaves(), depth, size, wrap_both=True)


# -- refused_values ------------------------------------------------------------------------------------


class _Tags(tuple):
    """A tuple subclass that is not a namedtuple: serde has no serializer for it."""

    __slots__ = ()


def _unserializable() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.binary(),
        st.binary().map(bytearray),
        st.complex_numbers(allow_nan=False, allow_infinity=False),
        st.times(),
        _texts().map(pathlib.PurePosixPath),
        st.just(Colour.RED),
        st.lists(st.integers(), max_size=3).map(collections.deque),
        st.integers(0, 10**6).map(lambda n: pendulum.duration(seconds=n)),
        st.lists(st.integers(), max_size=3).map(_Tags),
        st.builds(object),
    )


def _not_json() -> st.SearchStrategy[Any]:
    return st.sampled_from(
        [
            float("nan"),
            float("inf"),
            float("-inf"),
            decimal.Decimal("NaN"),
            decimal.Decimal("Infinity"),
            decimal.Decimal("-Infinity"),
        ]
    )


def _beyond_64_bits() -> st.SearchStrategy[Any]:
    big = st.integers(min_value=INT_MAX + 1) | st.integers(max_value=INT_MIN - 1)
    return big | big.map(decimal.Decimal)


@st.composite
def _with_surrogate(draw: st.DrawFn) -> str:
    text = draw(_texts())
    at = draw(st.integers(0, len(text)))
    surrogate = draw(st.characters(categories=["Cs"]))
    return text[:at] + surrogate + text[at:]


@st.composite
def _reserved_key_dicts(draw: st.DrawFn) -> dict:
    plain = draw(_dicts(_small_exact(), 3))
    plain[draw(st.sampled_from(sorted(_RESERVED_KEYS)))] = draw(_small_exact())
    return plain


@st.composite
def _stdlib_fixed_offsets(draw: st.DrawFn) -> datetime.datetime:
    minutes = draw(st.integers(-23 * 60 - 59, 23 * 60 + 59).filter(bool))
    zone = datetime.timezone(datetime.timedelta(minutes=minutes))
    naive = draw(
        st.datetimes(min_value=datetime.datetime(1900, 1, 2), max_value=datetime.datetime(2200, 1, 1))
    )
    return naive.replace(tzinfo=zone)


def _refused_leaves() -> st.SearchStrategy[tuple[Any, type[BaseException]]]:
    from airflow.sdk.exceptions import AirflowRuntimeError

    def refused(values: st.SearchStrategy[Any], error: type[BaseException]) -> st.SearchStrategy:
        return values.map(lambda v: (v, error))

    # What this Airflow's serde has no serializer for yet (UUID before 3.2, pendulum Date before 3.1).
    lacking = [
        values
        for classname, values in (("uuid.UUID", st.uuids()), ("pendulum.date.Date", _pendulum_dates()))
        if not _serde_has(classname)
    ]
    return st.one_of(
        refused(_unserializable(), TypeError),
        *(refused(values, TypeError) for values in lacking),
        refused(_not_json(), AirflowRuntimeError),
        refused(st.just(decimal.Decimal("sNaN")), ValueError),
        refused(_beyond_64_bits(), OverflowError),
        refused(_with_surrogate(), UnicodeEncodeError),
        refused(_with_surrogate().map(lambda k: {k: 1}), UnicodeEncodeError),
        refused(_reserved_key_dicts(), AttributeError),
        refused(st.builds(Reading, _texts(), _floats()), ImportError),
        refused(_stdlib_fixed_offsets(), ValueError),
        refused(
            st.sampled_from(
                [
                    datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=_UTC),
                    datetime.datetime(1, 1, 1, tzinfo=pendulum.timezone("Etc/GMT-14")),
                ]
            ),
            ValueError,
        ),
        refused(st.just(datetime.timedelta.max), OverflowError),
    )


def refused_values(*, max_depth: int = 2, max_size: int = 4) -> st.SearchStrategy[tuple[Any, type]]:
    """``(value, exception type)`` pairs: Airflow refuses ``value`` and raises that exception.

    Each value holds one refused part, alone or inside up to ``max_depth`` lists, tuples or dicts of
    exact values. On push: objects serde cannot serialize (bytes, complex, time, paths, plain Enum,
    deque, pendulum Duration, tuple subclasses, ...: ``TypeError``), NaN and infinities
    (``AirflowRuntimeError`` from the supervisor's JSON encoding), ints and integral Decimals beyond 64
    bits (``OverflowError``), Decimal sNaN (``ValueError``), lone surrogates (``UnicodeEncodeError``),
    dicts with a ``__classname__`` or ``__id__`` key (``AttributeError``). On pull: a dataclass outside
    ``[core] allowed_deserialization_classes`` (``ImportError``), a datetime in a stdlib fixed-offset
    zone or rounding past year 1 or 9999 (``ValueError``), ``timedelta.max`` (``OverflowError``).
    """
    depth, size = _count("max_depth", max_depth), _count("max_size", max_size)
    return _embedded(_refused_leaves(), depth, size, wrap_both=False)


# -- ids --------------------------------------------------------------------------------------------------


def _ids(max_size: int, limit: int, name: str) -> st.SearchStrategy[str]:
    size = _count("max_size", max_size)
    if not 1 <= size <= limit:
        raise InvalidArgument(f"{name}(max_size=...) must be between 1 and {limit}, not {max_size!r}")
    return st.text(_ID_ALPHABET, min_size=1, max_size=size).filter(lambda s: s not in _DOT_SEGMENTS)


def task_ids(*, max_size: int = MAX_TASK_ID_LENGTH) -> st.SearchStrategy[str]:
    """Task ids Airflow accepts (letters, digits, ``_-.``, at most 250 characters) and its URLs keep."""
    return _ids(max_size, MAX_TASK_ID_LENGTH, "task_ids")


def xcom_keys(*, max_size: int = 100) -> st.SearchStrategy[str]:
    """XCom keys that reach the API server unchanged: non-empty, letters, digits and ``_-.``.

    Airflow puts the key in a URL path (``xcoms/{dag_id}/{run_id}/{task_id}/{key}``), so a key with
    ``?``, ``#``, ``%``, ``/`` or control characters, or a key ``.`` or ``..``, reaches the server as
    another key, or as none.
    """
    return _ids(max_size, MAX_KEY_LENGTH, "xcom_keys")
