"""What a downstream task receives for a value, and where on the way a value changes or is refused.

``roundtrip(value)`` pushes ``value`` the way a task's ``xcom_push`` does and pulls it back the way a
downstream ``xcom_pull`` does (serde, the comms frame both ways, the JSON the API client sends), in a
throwaway store. ``assert_roundtrips(value)`` fails with the path inside the value where it changed::

    value["rows"][3]["when"]: datetime 2024-01-01 00:00:00+00:00 (tzinfo datetime.timezone.utc) became
    datetime 2024-01-01 00:00:00+00:00 (tzinfo pendulum Timezone('UTC'))

``ROUNDTRIP_TABLE`` holds one example per kind of value with what a downstream task receives; the
README's round-trip table is ``render_table()`` and the tests check every example against the real
path. Regenerate the README block with ``python -m pytest_xcom.roundtrips --update README.md``.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime
import decimal
import enum
import math
import pathlib
import reprlib
import sys
import traceback
import uuid
import zoneinfo
from collections.abc import Iterator
from typing import Any, NamedTuple

import pendulum
import pydantic

__all__ = [
    "AIRFLOW_MINORS",
    "ROUNDTRIP_TABLE",
    "SAME",
    "STEPS",
    "TABLE_END",
    "TABLE_START",
    "Example",
    "Refused",
    "TableRow",
    "assert_roundtrips",
    "render_table",
    "replace_table",
    "roundtrip",
]

_UPSTREAM = "upstream"

# -- wording --------------------------------------------------------------------------------------

CHANGED_HEAD = "the XCom round trip changes this value; a downstream task would receive something else:"
REFUSED_HEAD = "Airflow refuses this value on {phase}, in {step}:"
REFUSED_ERROR = "  {error}"
REFUSED_AT = "  the refused part: {path}: {described}"
PUSHED_LINE = "pushed:   {value}"
RECEIVED_LINE = "received: {value}"
MORE_CHANGES = "... and {count} more change(s)"

# What each step of the worker's path is, in the words an error message uses.
STEPS = {
    "serialize": "serde.serialize (the XCom backend's serialize_value) in the pushing task",
    "message": "the SetXCom message (a pydantic JsonValue) in the pushing task",
    "frame": "the msgpack frame from the pushing task to its supervisor",
    "supervisor": "the supervisor's HTTP request to the API server (httpx json=: no NaN, UTF-8)",
    "server": "the API server, which answered with an HTTP error",
    "push": "the pushing task",
    "deserialize": "serde.deserialize (the XCom backend's deserialize_value) in the pulling task",
}

# -- the round trip ---------------------------------------------------------------------------------


class _Outcome(NamedTuple):
    value: Any = None
    error: BaseException | None = None
    phase: str | None = None  # "push" or "pull" when refused
    step: str | None = None  # a key of STEPS


def _step_of_push_error(error: BaseException) -> str:
    detail = getattr(getattr(error, "error", None), "detail", None)
    if isinstance(detail, dict):  # an AirflowRuntimeError: the supervisor's error frame
        return "server" if detail.get("status_code") is not None else "supervisor"
    if type(error).__name__ == "ValidationError":
        return "message"
    from pytest_xcom import _compat

    # serde's package: airflow/sdk/serde from Airflow 3.2, airflow/serialization before.
    serde_dir = pathlib.Path(sys.modules[_compat.serialize.__module__].__file__ or "").parent.as_posix()
    step = "push"
    for frame in traceback.extract_tb(error.__traceback__):
        filename = frame.filename.replace("\\", "/")
        if filename.startswith(serde_dir + "/"):
            step = "serialize"
        elif frame.name in {"as_bytes", "_make_frame"}:
            step = "frame"
    return step


def _attempt(value: Any) -> _Outcome:
    from pytest_xcom import _compat
    from pytest_xcom.store import XComStore

    store = XComStore()
    # As in the fixtures: a datetime made under freezegun's frozen clock travels as a worker's real one.
    with _compat.frozen_clock_values_serializable():
        try:
            store.seed(_UPSTREAM, value)
        except Exception as error:
            return _Outcome(error=error, phase="push", step=_step_of_push_error(error))
        try:
            return _Outcome(value=store.get(_UPSTREAM))
        except Exception as error:
            return _Outcome(error=error, phase="pull", step="deserialize")


def roundtrip(value: Any) -> Any:
    """The value a downstream task receives when an upstream task pushes ``value``.

    Takes a real worker's path through a throwaway store, so what Airflow refuses raises what Airflow
    raises (``TypeError`` for an unserializable type, ``OverflowError`` for an int beyond 64 bits,
    ``AirflowRuntimeError`` for NaN, ...). The task SDK's comms channel is left as it was.
    """
    outcome = _attempt(value)
    if outcome.error is not None:
        raise outcome.error
    return outcome.value


# -- comparing exactly --------------------------------------------------------------------------------

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 80
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxfrozenset = _short.maxdict = 6
_short.maxlevel = 3

_CONTAINERS = (dict, list, tuple, set, frozenset)


def _type_name(value: Any) -> str:
    cls = type(value)
    if cls.__module__ in {"builtins", "datetime", "decimal", "uuid"}:
        return cls.__qualname__
    if cls.__module__.startswith("pendulum"):
        return f"pendulum {cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _tz_name(tz: Any) -> str:
    if isinstance(tz, datetime.timezone):
        return "datetime.timezone.utc" if tz is datetime.UTC else f"datetime.timezone({tz.tzname(None)!r})"
    if type(tz).__module__.startswith("pendulum"):
        return f"pendulum {tz!r}"
    return f"{type(tz).__module__}.{tz!r}"


def _describe(value: Any) -> str:
    """A value's type and value, e.g. ``int 1``, ``naive datetime 2024-01-02 03:04:05``."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return f"naive {_type_name(value)} {value.isoformat(' ')}"
        return f"{_type_name(value)} {value.isoformat(' ')} (tzinfo {_tz_name(value.tzinfo)})"
    if isinstance(value, datetime.date):
        return f"{_type_name(value)} {value.isoformat()}"
    text = _short.repr(value)
    if text.startswith((f"{type(value).__name__}(", f"{type(value).__module__}.{type(value).__name__}(")):
        return text  # Decimal('1.1'), UUID('...'), Point(x=1, y=2) name their type already
    return f"{_type_name(value)} {text}"


def _tz_identity(value: datetime.datetime) -> tuple:
    tz = value.tzinfo
    name = getattr(tz, "key", None) or getattr(tz, "name", None) or (tz.tzname(value) if tz else None)
    return (type(tz), name, value.utcoffset())


def _same_leaf(a: Any, b: Any) -> bool:
    if isinstance(a, float):
        return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (
            math.isnan(a) and math.isnan(b)
        )
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    if isinstance(a, datetime.datetime):
        # The same instant, wall time and zone; fold matters only where it changes the UTC offset.
        return (
            a == b and a.replace(tzinfo=None) == b.replace(tzinfo=None) and _tz_identity(a) == _tz_identity(b)
        )
    return bool(a == b)


def _index(path: str, key: Any) -> str:
    return f"{path}[{key!r}]"


def _differences(a: Any, b: Any, path: str) -> Iterator[str]:
    """Where ``b`` (received) differs from ``a`` (pushed): one line per difference, outermost first."""
    if type(a) is not type(b):
        if isinstance(a, _CONTAINERS) or isinstance(b, _CONTAINERS):
            yield f"{path}: {_type_name(a)} became {_type_name(b)}"
        else:
            yield f"{path}: {_describe(a)} became {_describe(b)}"
        return
    if isinstance(a, dict):
        yield from _dict_differences(a, b, path)
    elif isinstance(a, list | tuple):
        if len(a) != len(b):
            yield f"{path}: {_type_name(a)} of {len(a)} items became one of {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _differences(x, y, f"{path}[{i}]")
    elif isinstance(a, set | frozenset):
        lost = [x for x in a if not any(_same(x, y) for y in b)]
        gained = [y for y in b if not any(_same(x, y) for x in a)]
        if lost or gained:
            yield (
                f"{path}: {_type_name(a)} elements {', '.join(_describe(x) for x in lost) or 'none'} "
                f"became {', '.join(_describe(y) for y in gained) or 'none'}"
            )
    elif not _same_leaf(a, b):
        yield f"{path}: {_describe(a)} became {_describe(b)}"


def _dict_differences(a: dict, b: dict, path: str) -> Iterator[str]:
    matched: set[int] = set()
    b_keys = list(b)
    for key in a:
        j = next((j for j, k in enumerate(b_keys) if j not in matched and _same(key, k)), None)
        if j is None:
            # serde writes every key as str(key): find where this one went.
            j = next((j for j, k in enumerate(b_keys) if j not in matched and k == str(key)), None)
            if j is None:
                yield f"{_index(path, key)}: key {_describe(key)} is missing"
                continue
            yield f"{_index(path, key)}: key {_describe(key)} became {_describe(b_keys[j])}"
        matched.add(j)
        yield from _differences(a[key], b[b_keys[j]], _index(path, key))
    for j, key in enumerate(b_keys):
        if j not in matched:
            yield f"{_index(path, key)}: key {_describe(key)} appeared"


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down, as ``assert_roundtrips`` checks."""
    return next(_differences(a, b, ""), None) is None


# -- the assertion ------------------------------------------------------------------------------------


def _children(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{_index(path, key)} (the key)", key
            yield _index(path, key), item
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield f"{path}[{i}]", item
    elif isinstance(value, set | frozenset):
        for item in value:
            yield f"{path} (the element {_short.repr(item)})", item


def _refused_part(value: Any, outcome: _Outcome, path: str) -> tuple[str, Any]:
    """The innermost part of ``value`` that is refused on its own, the same way as the whole."""
    for child_path, child in _children(value, path):
        if isinstance(child, str) and child_path.endswith("(the key)"):
            child = str(child)
        attempt = _attempt(child)
        if type(attempt.error) is type(outcome.error) and attempt.step == outcome.step:
            return _refused_part(child, outcome, child_path)
    return path, value


def assert_roundtrips(value: Any, *, name: str = "value") -> None:
    """Assert a downstream task receives exactly ``value``: equal, and of the same types all the way down.

    On failure the message lists each path where the value changed (``value[2]: tuple became list``,
    ``value["when"]: datetime ... became ...``), or, for a value Airflow refuses, the exception, the step
    of the worker's path that raised it, and the part of the value that is refused. ``name`` is what the
    paths start with.
    """
    __tracebackhide__ = True
    outcome = _attempt(value)
    if outcome.error is not None:
        path, part = _refused_part(value, outcome, name)
        lines = [
            REFUSED_HEAD.format(phase=outcome.phase, step=STEPS[outcome.step or "push"]),
            REFUSED_ERROR.format(error=f"{type(outcome.error).__name__}: {outcome.error}"),
        ]
        if path != name or isinstance(value, _CONTAINERS):
            lines.append(REFUSED_AT.format(path=path, described=_describe(part)))
        raise AssertionError("\n".join(lines)) from None  # roundtrip(value) shows Airflow's traceback
    changes = list(_differences(value, outcome.value, name))
    if changes:
        shown = changes[:10]
        if len(changes) > len(shown):
            shown.append(MORE_CHANGES.format(count=len(changes) - len(shown)))
        lines = [CHANGED_HEAD, *(f"  {line}" for line in shown)]
        lines += [
            PUSHED_LINE.format(value=_short.repr(value)),
            RECEIVED_LINE.format(value=_short.repr(outcome.value)),
        ]
        raise AssertionError("\n".join(lines))


# -- the README table ---------------------------------------------------------------------------------


class Point(NamedTuple):
    """A namedtuple, for the table: it arrives as a plain tuple."""

    x: int
    y: int


class Priority(enum.IntEnum):
    """An IntEnum, for the table: it arrives as its int value."""

    LOW = 1
    HIGH = 3


class Colour(enum.Enum):
    """A plain Enum, for the table: serde cannot serialize it."""

    RED = 1


class Mode(enum.StrEnum):
    """A str Enum, for the table: it arrives as its str value."""

    FAST = "fast"
    SAFE = "safe"


@dataclasses.dataclass
class Reading:
    """A dataclass outside ``[core] allowed_deserialization_classes``: the pull refuses it."""

    sensor: str
    value: float


class Gauge(pydantic.BaseModel):
    """A pydantic model outside ``[core] allowed_deserialization_classes``: the pull refuses it."""

    sensor: str
    value: float


class Refused(NamedTuple):
    """What a refused example raises, and where: ``phase`` "push" or "pull", ``step`` a key of STEPS."""

    error: str
    phase: str
    step: str


SAME: Any = "the same"
"""An example's ``receives`` when a downstream task gets exactly the pushed value."""


AIRFLOW_MINORS = ("3.0", "3.1", "3.2", "3.3")
"""The Airflow minor versions the table speaks for."""


class Example(NamedTuple):
    """One value of a table row, written as the README shows it, and what a downstream task receives.

    ``receives`` is ``SAME``, the received value, or a ``Refused``: on Airflow 3.3, and on every other
    minor version except those in ``differs_on`` ({"3.0": what it receives there, ...}).
    """

    code: str
    receives: Any = SAME
    differs_on: dict[str, Any] = {}

    @property
    def value(self) -> Any:
        return eval(self.code, dict(_EXAMPLE_NAMES))  # the code is ours, below: the README shows it verbatim

    def receives_on(self, minor: str) -> Any:
        """What a downstream task receives on Airflow ``minor`` ("3.1")."""
        return self.differs_on.get(minor, self.receives)


class TableRow(NamedTuple):
    """A kind of value, examples of it, and a note on why it arrives as it does."""

    kind: str
    examples: tuple[Example, ...]
    note: str = ""


_EXAMPLE_NAMES: dict[str, Any] = {
    "collections": collections,
    "date": datetime.date,
    "datetime": datetime.datetime,
    "timedelta": datetime.timedelta,
    "timezone": datetime.timezone,
    "time": datetime.time,
    "Decimal": decimal.Decimal,
    "UUID": uuid.UUID,
    "ZoneInfo": zoneinfo.ZoneInfo,
    "Path": pathlib.Path,
    "pendulum": pendulum,
    "Point": Point,
    "Priority": Priority,
    "Colour": Colour,
    "Mode": Mode,
    "Reading": Reading,
    "Gauge": Gauge,
}


def _tz(name: str) -> Any:
    return pendulum.timezone(name)


_NOT_SERIALIZABLE = Refused("TypeError", "push", "serialize")


ROUNDTRIP_TABLE: tuple[TableRow, ...] = (
    # -- what arrives exactly as pushed
    TableRow(
        "`int` in `[-2**63, 2**64 - 1]`, `bool`, `None`",
        (
            Example("-2**63"),
            Example("2**64 - 1"),
            Example("True"),
            Example("None", differs_on={"3.0": Refused("AirflowRuntimeError", "push", "server")}),
        ),
        "Airflow 3.0's API server refuses a `None` value (422: its XCom route requires a body)",
    ),
    TableRow("finite `float`", (Example("0.1"), Example("-0.0"), Example("1e308"))),
    TableRow("`str`", (Example("'héllo wörld 🌍'"),), "any text without lone surrogates"),
    TableRow(
        "`list`, `tuple`, `set`, `frozenset`, `dict` with `str` keys, nested",
        (Example("[1, (2, 3), {'a': {4, 5}}, frozenset({(6, 7)})]"),),
    ),
    TableRow(
        "`date`, pendulum `Date`",
        (
            Example("date(2024, 2, 29)"),
            Example("pendulum.date(2024, 2, 29)", differs_on={"3.0": _NOT_SERIALIZABLE}),
        ),
        "Airflow 3.0 has no serializer for pendulum `Date`",
    ),
    TableRow(
        "`datetime` or pendulum `DateTime` in a pendulum zone",
        (
            Example("datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=pendulum.UTC)"),
            Example("pendulum.datetime(2024, 10, 27, 2, 30, tz='Europe/Paris', fold=1)"),
            Example("datetime(2024, 1, 2, tzinfo=pendulum.FixedTimezone(-5 * 3600))"),
        ),
        "named zones, UTC and non-zero fixed offsets; to the microsecond within 272 years of 1970",
    ),
    TableRow(
        "naive `datetime`",
        (Example("datetime(2024, 1, 15, 12, 0)"),),
        "read back in the pulling worker's local time zone: the same only if it is the pusher's",
    ),
    TableRow(
        "`timedelta`, `UUID`",
        (
            Example("timedelta(days=1, microseconds=5)"),
            Example(
                "UUID('12345678-1234-5678-1234-567812345678')",
                differs_on={"3.0": _NOT_SERIALIZABLE, "3.1": _NOT_SERIALIZABLE},
            ),
        ),
        "a `timedelta` to the microsecond up to 272 years; Airflow 3.0 and 3.1 have no serializer for `UUID`",
    ),
    TableRow(
        "`Decimal` with exponent 0, or written as its float is",
        (Example("Decimal('42')"), Example("Decimal('0.1')")),
    ),
    # -- what arrives changed
    TableRow(
        "`dict` with non-`str` keys",
        (Example("{1: 'a', None: 'b', (1, 2): 'c'}", {"1": "a", "None": "b", "(1, 2)": "c"}),),
        "every key becomes `str(key)`; colliding keys keep the last value",
    ),
    TableRow("`dict` and `list` subclasses", (Example("collections.OrderedDict(a=1)", {"a": 1}),)),
    TableRow("`namedtuple`", (Example("Point(x=1, y=2)", (1, 2)),)),
    TableRow(
        "`IntEnum`, `IntFlag`, `StrEnum` member",
        (Example("Priority.HIGH", 3), Example("Mode.FAST", "fast")),
        "its value",
    ),
    TableRow(
        "other `Decimal`",
        (
            Example("Decimal('1.10')", decimal.Decimal("1.1")),
            Example("Decimal('1E+3')", decimal.Decimal("1000")),
            Example("Decimal('0.12345678901234567890')", decimal.Decimal("0.12345678901234568")),
        ),
        "exponent > 0: sent as an `int`; exponent < 0: sent as a `float`",
    ),
    TableRow(
        "`datetime` in a stdlib or `zoneinfo` zone",
        (
            Example(
                "datetime(2024, 1, 2, tzinfo=timezone.utc)", datetime.datetime(2024, 1, 2, tzinfo=_tz("UTC"))
            ),
            Example(
                "datetime(2024, 1, 2, tzinfo=ZoneInfo('Europe/Paris'))",
                datetime.datetime(2024, 1, 2, tzinfo=_tz("Europe/Paris")),
            ),
        ),
        "the same wall time in pendulum's zone of that name",
    ),
    TableRow(
        "wall time that does not exist (in a DST gap)",
        (
            Example(
                "datetime(2024, 3, 31, 2, 30, tzinfo=pendulum.timezone('Europe/Paris'))",
                datetime.datetime(2024, 3, 31, 3, 30, tzinfo=_tz("Europe/Paris")),
            ),
        ),
        "the instant it denotes",
    ),
    TableRow(
        "`datetime`, `timedelta` with microseconds, beyond 272 years of 1970",
        (
            Example(
                "datetime(3000, 1, 1, 0, 0, 0, 1, tzinfo=pendulum.UTC)",
                datetime.datetime(3000, 1, 1, tzinfo=_tz("UTC")),
            ),
            Example("timedelta(days=100_000_000, microseconds=1)", datetime.timedelta(days=100_000_000)),
        ),
        "rounded: they travel as a float of seconds",
    ),
    TableRow(
        "`dict` with keys `__type` and `__var`",
        (Example("{'__type': 'dict', '__var': {'a': 1}}", {"a": 1}),),
        "read as serde's old wrapper format",
    ),
    # -- what Airflow refuses
    TableRow(
        "`bytes`, `bytearray`, `complex`, `time`, `Path`, plain `Enum`, pendulum `Duration`, `deque`, "
        "subclasses of `tuple`/`set`, other objects",
        (
            Example("b'raw'", Refused("TypeError", "push", "serialize")),
            Example("time(12, 30)", Refused("TypeError", "push", "serialize")),
            Example("Colour.RED", Refused("TypeError", "push", "serialize")),
            Example("pendulum.duration(days=1)", Refused("TypeError", "push", "serialize")),
        ),
        "cannot serialize object of type ...",
    ),
    TableRow(
        "NaN or infinity (`float`, `Decimal`)",
        (
            Example("float('nan')", Refused("AirflowRuntimeError", "push", "supervisor")),
            Example("[Decimal('-Infinity')]", Refused("AirflowRuntimeError", "push", "supervisor")),
        ),
        "Out of range float values are not JSON compliant",
    ),
    TableRow(
        "`int` outside `[-2**63, 2**64 - 1]`, or a `Decimal` with exponent ≥ 0 outside it",
        (
            Example("2**64", Refused("OverflowError", "push", "frame")),
            Example("Decimal('1E+20')", Refused("OverflowError", "push", "frame")),
        ),
        "the msgpack frame to the supervisor",
    ),
    TableRow(
        "`str` with a lone surrogate",
        (Example("'\\ud800'", Refused("UnicodeEncodeError", "push", "frame")),),
        "the msgpack frame to the supervisor",
    ),
    TableRow(
        "`dict` with a `__classname__` or `__id__` key",
        (Example("{'__classname__': 'x'}", Refused("AttributeError", "push", "serialize")),),
        "keys reserved by serde",
    ),
    TableRow(
        "dataclass, attrs or pydantic model outside `[core] allowed_deserialization_classes`",
        (
            Example("Reading('t1', 21.5)", Refused("ImportError", "pull", "deserialize")),
            Example(
                "Gauge(sensor='t1', value=21.5)",
                Refused("ImportError", "pull", "deserialize"),
                differs_on={"3.0": _NOT_SERIALIZABLE},
            ),
        ),
        "the push works, the pull does not (the default allow list is `airflow.*`); Airflow 3.0 has no "
        "serializer for pydantic models",
    ),
    TableRow(
        "`datetime` with a stdlib fixed-offset zone other than UTC",
        (
            Example(
                "datetime(2024, 1, 2, tzinfo=timezone(timedelta(hours=2)))",
                Refused("ValueError", "pull", "deserialize"),
            ),
        ),
        "the push works, the pull cannot rebuild the zone",
    ),
    TableRow(
        "`datetime` a microsecond from year 1 or 9999, `timedelta.max`",
        (
            Example(
                "datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=pendulum.UTC)",
                Refused("ValueError", "pull", "deserialize"),
            ),
            Example("timedelta.max", Refused("OverflowError", "pull", "deserialize")),
        ),
        "the push works; the float of seconds rounds out of range on the pull",
    ),
)


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"``{text}``"


def _fate(receives: Any) -> str:
    if receives is SAME:
        return "the same"
    if isinstance(receives, Refused):
        return f"{receives.phase} raises `{receives.error}`"
    return _code(repr(receives))


def _receives_cell(example: Example) -> str:
    text = _fate(example.receives)
    elsewhere: dict[str, list[str]] = {}
    for minor in AIRFLOW_MINORS:
        if minor in example.differs_on:
            elsewhere.setdefault(_fate(example.differs_on[minor]), []).append(minor)
    for fate, minors in elsewhere.items():
        text += f"; on Airflow {', '.join(minors)}: {fate}"
    return text


def _cell(texts: list[str]) -> str:
    # One line when every example says the same thing; "|" would end the cell.
    shown = texts[:1] if len(set(texts)) == 1 else texts
    return "<br>".join(shown).replace("|", "\\|")


def render_table() -> str:
    """The README's round-trip table (markdown), made from ``ROUNDTRIP_TABLE``."""
    lines = ["| value | example | a downstream task receives | why |", "|---|---|---|---|"]
    for row in ROUNDTRIP_TABLE:
        pushed = _cell([_code(e.code) for e in row.examples])
        receives = _cell([_receives_cell(e) for e in row.examples])
        lines.append(f"| {row.kind} | {pushed} | {receives} | {row.note} |")
    return "\n".join(lines)


# -- python -m pytest_xcom.roundtrips ------------------------------------------------------------------

TABLE_START = "<!-- roundtrip-table:start -->"
TABLE_END = "<!-- roundtrip-table:end -->"


def replace_table(text: str) -> str:
    """``text`` (a README) with the block between the table markers replaced by ``render_table()``."""
    start = text.index(TABLE_START) + len(TABLE_START)
    end = text.index(TABLE_END, start)
    return f"{text[:start]}\n{render_table()}\n{text[end:]}"


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_xcom.roundtrips", description=__doc__.split("\n")[0]
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--table", action="store_true", help="print the round-trip table (markdown)")
    group.add_argument("--update", metavar="README", help="rewrite the table between the markers in README")
    args = parser.parse_args(argv)
    if args.table:
        print(render_table())
        return 0
    readme = pathlib.Path(args.update)
    readme.write_text(replace_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
