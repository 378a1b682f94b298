"""Loading a DAG folder as Airflow's DAG processor does, and the integrity checks run on what it finds.

Parsing is Airflow's own ``DagBag``: the same ``.airflowignore`` handling, "airflow"/"dag" text heuristic
(``[core] dag_discovery_safe_mode``), ``[core] dagbag_import_timeout``, cycle and duplicate dag_id
checks, and import errors with their tracebacks. Around it this module adds what the DAG processor does
not tell a test: which Variables, connections and XComs a file reads while it is parsed (and where),
whether each DAG survives the scheduler's serialization round trip unchanged, and the opt-in house rules.
No metadata DB is touched: a DagBag needs one only to sync its results, which a test does not do.
"""

from __future__ import annotations

import contextlib
import functools
import linecache
import os
import re
import signal
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_xcom import _msgs

__all__ = ["DAG_RULES", "DagFolder", "DagProblem", "ParseTimeAccess", "load_dag_file", "load_dags"]


@dataclass(frozen=True)
class ParseTimeAccess:
    """A Variable, connection or XCom read made while a DAG file was parsed."""

    file: str
    line: int
    call: str
    source: str


@dataclass(frozen=True)
class DagProblem:
    """One failed integrity check: where, what is wrong and how to fix it."""

    file: str
    line: int
    cause: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.cause}\n  fix: {self.fix}"


@dataclass
class DagFolder:
    """What parsing a folder found: its DAGs, the files that failed, and what each file read at parse time.

    ``dags`` maps dag_id to the DAG object; ``import_errors`` maps a file path (relative to ``path``)
    to Airflow's message for it, traceback included; ``files`` lists the files parsed (after
    ``.airflowignore`` and the text heuristic), relative to ``path``.
    """

    path: Path
    dags: dict[str, Any] = field(default_factory=dict)
    import_errors: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    dag_files: dict[str, str] = field(default_factory=dict)
    """dag_id -> the file (relative to ``path``) that defines it."""
    parse_time_access: dict[str, list[ParseTimeAccess]] = field(default_factory=dict)
    """file -> the Variable / connection / XCom reads its top-level code made."""

    def __repr__(self) -> str:
        errors = sorted(self.import_errors)
        return f"DagFolder({str(self.path)!r}, dags={sorted(self.dags)}, import_errors={errors})"

    def dags_in(self, file: str) -> list[str]:
        return sorted(dag_id for dag_id, f in self.dag_files.items() if f == file)

    def file_problems(self, file: str) -> list[DagProblem]:
        """Why ``file`` would fail in the DAG processor (or read what it should not while parsed)."""
        problems = [
            DagProblem(access.file, access.line, *_msgs.parse_time_access(access.call, access.source))
            for access in self.parse_time_access.get(file, [])
        ]
        if file in self.import_errors:
            problems.append(self._import_problem(file, self.import_errors[file]))
        return problems

    def dag_problems(self, dag_id: str, rules: list[str] = ()) -> list[DagProblem]:  # type: ignore[assignment]
        """Why the scheduler would not run ``dag_id`` as written, and which of ``rules`` it breaks."""
        dag = self.dags[dag_id]
        file = self.dag_files[dag_id]
        line = dag_line(self.path / file, dag)
        problems = [DagProblem(file, line, cause, fix) for cause, fix in serialization_differences(dag)]
        for rule in rules:
            problems.extend(DagProblem(file, line, cause, fix) for cause, fix in DAG_RULES[rule](dag))
        return problems

    def _import_problem(self, file: str, message: str) -> DagProblem:
        source = self.path / file
        if "DagBag import timeout" in message:
            cause, fix = _msgs.dag_parse_timeout(_first_line(message))
        elif "AirflowDagCycleException" in message or "Cycle detected in DAG" in message:
            cause, fix = _msgs.dag_cycle(_first_line(message))
            return DagProblem(file, _dag_id_line(source, message), cause, fix)
        elif "AirflowDagDuplicatedIdException" in message or "also found in" in message:
            cause, fix = _msgs.dag_duplicate(_first_line(message), self._duplicate_owner(message))
            return DagProblem(file, _dag_id_line(source, message), cause, fix)
        else:
            cause, fix = _msgs.dag_import_error(message)
            fix = _msgs.provide_context_hint(message) or fix
        return DagProblem(file, _traceback_line(message, source), cause, fix)

    def _duplicate_owner(self, message: str) -> str:
        for dag_id, f in self.dag_files.items():
            if re.search(rf"\b{re.escape(dag_id)}\b", message):
                return f
        return "another file"


# -- parsing --------------------------------------------------------------------------------------------


def load_dags(
    path: str | os.PathLike[str],
    *,
    variables: Mapping[str, Any] | None = None,
    connections: Mapping[str, Any] | None = None,
) -> DagFolder:
    """Parse every DAG file under ``path`` as Airflow's DAG processor does; no metadata DB needed.

    Returns a :class:`DagFolder`. ``variables`` and ``connections`` answer top-level reads (which are
    recorded in ``parse_time_access`` either way); without them such a read fails as it would against
    an empty deployment. Read ``[core]`` options (safe mode, ignore syntax, import timeout) from
    Airflow's config, so the ``airflow_config`` fixture and marker change them.
    """
    from pytest_xcom import _compat
    from pytest_xcom.comms import installed
    from pytest_xcom.config import overridden
    from pytest_xcom.secrets import provide
    from pytest_xcom.store import XComStore

    folder = Path(path).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(_msgs.dag_folder_missing(str(path)))
    result = DagFolder(path=folder)
    comms = _parse_time_comms(store=XComStore())
    provide(comms, variables, connections)
    bag = _compat.new_dagbag(folder)
    safe_mode = _compat.core_conf.getboolean("core", "dag_discovery_safe_mode", fallback=True)
    with (
        _parse_globals_restored(folder),
        installed(comms),
        overridden(_DEEP_TRACEBACKS),
    ):
        for filepath in _compat.list_dag_files(folder, safe_mode):
            relative = Path(filepath).relative_to(folder).as_posix()
            result.files.append(relative)
            comms.watched_file = filepath
            for dag in bag.process_file(filepath, only_if_updated=False, safe_mode=safe_mode):
                result.dag_files[dag.dag_id] = relative
            if comms.accesses:
                result.parse_time_access[relative] = [
                    ParseTimeAccess(relative, line, call, source) for line, call, source in comms.accesses
                ]
                comms.accesses = []
    result.dags = {dag_id: bag.dags[dag_id] for dag_id in sorted(result.dag_files) if dag_id in bag.dags}
    for key, message in bag.import_errors.items():
        result.import_errors[_relative(folder, key)] = message
    return result


def load_dag_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Every DAG one file defines ({dag_id: DAG}): module-level ones and those ``@dag`` functions register.

    The file is imported as the DAG processor imports it (its folder importable, so it can import its
    neighbours), in this process, as a fresh module each call that is not left in ``sys.modules``. An
    error the file raises propagates. For a whole folder, with Airflow's own DagBag, see :func:`load_dags`.
    """
    import importlib.util

    from airflow.sdk import DAG
    from airflow.sdk.definitions._internal.contextmanager import DagContext

    file = Path(path).resolve()
    name = f"pytest_xcom_dagfile_{file.stem}_{abs(hash(str(file)))}"
    saved = (set(DagContext.autoregistered_dags), DagContext.current_autoregister_module_name)
    DagContext.autoregistered_dags.clear()
    DagContext.current_autoregister_module_name = name
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(_msgs.not_a_dag_file(str(path)))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the autoregistration looks the module up by name
    saved_path = list(sys.path)
    sys.path.insert(0, str(file.parent))
    try:
        spec.loader.exec_module(module)
        dags = {d.dag_id: d for d in vars(module).values() if isinstance(d, DAG)}
        dags.update({d.dag_id: d for d, _ in DagContext.autoregistered_dags})
    finally:
        sys.path[:] = saved_path
        del sys.modules[name]
        DagContext.autoregistered_dags.clear()
        DagContext.autoregistered_dags.update(saved[0])
        DagContext.current_autoregister_module_name = saved[1]
    return dags


# Airflow keeps the last 2 frames of an import error's traceback by default, which often ends inside
# Airflow and loses the DAG file's line; keep enough frames to reach it.
_DEEP_TRACEBACKS = {"core.dagbag_import_error_traceback_depth": 50}


def _relative(folder: Path, key: str) -> str:
    # 3.0 keys import errors by absolute path, 3.1+ by the path relative to the bundle.
    path = Path(key)
    if path.is_absolute():
        with contextlib.suppress(ValueError):
            return path.relative_to(folder).as_posix()
    return path.as_posix()


@contextlib.contextmanager
def _parse_globals_restored(folder: Path) -> Iterator[None]:
    """The DAG processor's process-wide settings for one parse, put back afterwards.

    The folder is importable (the processor puts the bundle root on sys.path, so files can import their
    neighbours); the importer's SIGALRM timeout handler and the DAG auto-registration state are a worker
    process's own, and a test session shares them with other tests.
    """
    from airflow.sdk.definitions._internal.contextmanager import DagContext

    saved_path = list(sys.path)
    saved_alarm = signal.getsignal(signal.SIGALRM)
    saved_registry = (set(DagContext.autoregistered_dags), DagContext.current_autoregister_module_name)
    sys.path.append(str(folder))
    try:
        yield
    finally:
        sys.path[:] = saved_path
        signal.signal(signal.SIGALRM, saved_alarm)
        DagContext.autoregistered_dags.clear()
        DagContext.autoregistered_dags.update(saved_registry[0])
        DagContext.current_autoregister_module_name = saved_registry[1]


def _describe_read(msg: Any) -> str | None:
    """The user-level call a comms request stands for, if it reads a Variable, connection or XCom."""
    kind = type(msg).__name__
    if kind == "GetVariable":
        return f"Variable.get({msg.key!r})"
    if kind == "GetVariableKeys":
        return "a listing of Variable keys"
    if kind == "GetConnection":
        return f"a lookup of connection {msg.conn_id!r}"
    if kind.startswith("GetXCom"):
        return f"an XCom pull of {msg.key!r} from task {msg.task_id!r}"
    return None


@functools.cache
def _parse_time_comms_class() -> type:
    import attrs

    from pytest_xcom.comms import InMemorySupervisorComms

    @attrs.define(kw_only=True)
    class ParseTimeComms(InMemorySupervisorComms):
        """The DAG processor's channel: answers reads, and notes each one with the DAG file's line."""

        watched_file: str | None = None
        accesses: list[tuple[int, str, str]] = attrs.field(factory=list)

        def send(self, msg: Any) -> Any:
            call = _describe_read(msg)
            if call is not None:
                line = _caller_line(self.watched_file)
                source = linecache.getline(self.watched_file or "", line).strip() if line else ""
                self.accesses.append((line, call, source))
            return super().send(msg)

    return ParseTimeComms


def _parse_time_comms(**kwargs: Any) -> Any:
    # The class is built on first use: its base class imports Airflow.
    return _parse_time_comms_class()(**kwargs)


def _caller_line(filename: str | None) -> int:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == filename:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return 0


# -- where a problem is ---------------------------------------------------------------------------------


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    # A traceback's last line is the exception; other messages start with what happened.
    if lines and lines[0].startswith("Traceback"):
        return lines[-1].strip()
    return lines[0].strip() if lines else message


def _traceback_line(message: str, source: Path) -> int:
    """The innermost line of ``source`` that a traceback names (or 1)."""
    found = 1
    for match in re.finditer(r'File "([^"]+)", line (\d+)', message):
        with contextlib.suppress(OSError, ValueError):
            if Path(match.group(1)).resolve() == source.resolve():
                found = int(match.group(2))
    return found


def _dag_id_line(source: Path, message: str) -> int:
    match = re.search(r"in DAG:? '?([\w\-]+(?:\.[\w\-]+)*)", message, re.IGNORECASE) or re.search(
        r"Ignoring DAG '?([\w\-]+(?:\.[\w\-]+)*)", message, re.IGNORECASE
    )
    return _text_line(source, match.group(1)) if match else 1


def _text_line(source: Path, dag_id: str) -> int:
    """The line where ``dag_id`` is defined: its quoted id, or the name of its ``@dag`` function."""
    try:
        lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 1
    quoted = re.compile(rf"""['"]{re.escape(dag_id)}['"]""")
    function = re.compile(rf"def\s+{re.escape(dag_id)}\s*\(")
    for number, text in enumerate(lines, start=1):
        if quoted.search(text) or function.search(text):
            return number
    return 1


def dag_line(source: Path, dag: Any) -> int:
    return _text_line(source, dag.dag_id)


# -- the scheduler's serialization round trip -----------------------------------------------------------


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)  # an enum member as the string the serializer writes


def _str_keys(value: Any) -> Any:
    # The serializer writes a schema's dict keys as str(key) ({1: "One"} -> {"1": "One"}), which the UI
    # expects: not a change worth failing a DAG for.
    if isinstance(value, dict):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_str_keys(v) for v in value]
    return value


def _param_summary(params: Any) -> dict[str, Any]:
    summary = {}
    for key in params.keys():
        param = params.get_param(key)
        summary[key] = (repr(getattr(param, "value", None)), _str_keys(getattr(param, "schema", None)))
    return summary


def serialization_differences(dag: Any) -> list[tuple[str, str]]:
    """What the scheduler would see differently after the DAG processor serializes ``dag``."""
    import traceback

    from pytest_xcom import _compat

    serializer = _compat.dag_serializer()
    try:
        restored = serializer.from_dict(serializer.to_dict(dag))
    except Exception as e:
        detail = traceback.format_exception_only(e)[-1].strip()
        return [_msgs.dag_not_serializable(dag.dag_id, detail)]
    differences: list[tuple[str, str]] = []
    ours = {t.task_id: t for t in dag.tasks}
    theirs = {t.task_id: t for t in restored.tasks}
    if set(ours) != set(theirs):
        differences.append(_msgs.dag_roundtrip_changed(dag.dag_id, "tasks", sorted(ours), sorted(theirs)))
        return differences
    for task_id, task in ours.items():
        other = theirs[task_id]
        for what in ("upstream_task_ids", "downstream_task_ids"):
            if set(getattr(task, what)) != set(getattr(other, what)):
                differences.append(
                    _msgs.dag_roundtrip_changed(
                        dag.dag_id,
                        f"{task_id}.{what}",
                        sorted(getattr(task, what)),
                        sorted(getattr(other, what)),
                    )
                )
        if _plain(task.trigger_rule) != _plain(other.trigger_rule):
            differences.append(
                _msgs.dag_roundtrip_changed(
                    dag.dag_id,
                    f"{task_id}.trigger_rule",
                    _plain(task.trigger_rule),
                    _plain(other.trigger_rule),
                )
            )
    ours_params, theirs_params = _param_summary(dag.params), _param_summary(restored.params)
    for key in sorted(set(ours_params) | set(theirs_params)):
        if ours_params.get(key) != theirs_params.get(key):
            differences.append(
                _msgs.dag_roundtrip_changed(
                    dag.dag_id, f"param {key!r}", ours_params.get(key), theirs_params.get(key)
                )
            )
    return differences


# -- opt-in house rules ---------------------------------------------------------------------------------


def _rule_tags(dag: Any) -> list[tuple[str, str]]:
    return [] if dag.tags else [_msgs.rule_tags(dag.dag_id)]


def _rule_owner(dag: Any) -> list[tuple[str, str]]:
    from pytest_xcom import _compat

    default = _compat.core_conf.get("operators", "default_owner", fallback="airflow")
    unowned = sorted(t.task_id for t in dag.tasks if not t.owner or t.owner == default)
    return [_msgs.rule_owner(dag.dag_id, unowned, default)] if unowned else []


def _rule_retries(dag: Any) -> list[tuple[str, str]]:
    without = sorted(t.task_id for t in dag.tasks if not t.retries)
    return [_msgs.rule_retries(dag.dag_id, without)] if without else []


def _rule_no_catchup(dag: Any) -> list[tuple[str, str]]:
    return [_msgs.rule_no_catchup(dag.dag_id)] if dag.catchup else []


def _rule_description(dag: Any) -> list[tuple[str, str]]:
    return [] if (dag.description or dag.doc_md) else [_msgs.rule_description(dag.dag_id)]


DAG_RULES = {
    "description": _rule_description,
    "no_catchup": _rule_no_catchup,
    "owner": _rule_owner,
    "retries": _rule_retries,
    "tags": _rule_tags,
}
"""The conventions ``xcom_dag_rules`` can switch on, by name."""
