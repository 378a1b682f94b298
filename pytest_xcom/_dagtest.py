"""Run a DAG through Airflow's own ``dag.test()`` and report what happened.

This is the reference side of the project's differential tests and benchmarks: the in-memory runner
is compared against what real Airflow does with the same DAG file (``pytest_xcom.compare`` is the
user-facing way to it). Users never need it directly.

Each call runs in a fresh interpreter (``python -m pytest_xcom._dagtest WORKDIR``) because
``dag.test()`` needs process-wide state that must never reach the caller: an Airflow config read
from the environment at import time, an ORM engine bound to a metadata DB, DAG modules registered in
``sys.modules``, ``AIRFLOW_CTX_*`` variables and signal handlers installed by the task runner.

The parent prepares everything that does not need Airflow (a throwaway AIRFLOW_HOME, a bundle folder,
the environment, a copy of a cached template DB) and the child does the rest. The environment is set
by the parent, not by the child after start-up: ``-m pytest_xcom._dagtest`` imports the package
``__init__`` first, which may import Airflow and freeze its config before the child's own code runs.
Results come back as a pickle file per DAG, because Airflow logs to stdout and stderr.

One child runs a whole batch of DAGs in turn (``run_dag_tests``), each DAG in a bundle of its own on
the one metadata DB, so that a DAG costs its parse and run, not an Airflow start. The parent watches
the result files: a DAG that hangs is killed with the child, one that kills the child is reported as
its error, and in both cases a fresh child goes on with the rest.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pytest_xcom._process import worker_globals_restored

__all__ = [
    "DagTestCall",
    "DagTestError",
    "DagTestOutcome",
    "DagTestRequest",
    "DagTestTimeout",
    "UndecodedXCom",
    "run_dag_test",
    "run_dag_tests",
]

_REQUEST_FILE = "request.pickle"
_READY_FILE = "ready"
_STDOUT_FILE = "stdout.log"
_STDERR_FILE = "stderr.log"
_DB_FILE = "airflow.db"
_BUNDLE_NAME = "dags-folder"  # the name dag.test(use_executor=True) assumes for its workloads
_TAIL_CHARS = 6000
_POLL_SECONDS = 0.02
_EXIT_SECONDS = 30

# Settings the harness owns in the child. Anything else named AIRFLOW__* is passed through so that the
# child sees the same config overrides as the caller's in-memory run; every [database] setting is
# dropped so that no caller setting can point the harness at a real metadata DB.
_OWNED_ENV = frozenset(
    {
        "AIRFLOW_HOME",
        "AIRFLOW_CONFIG",
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW__CORE__LOAD_EXAMPLES",
        "AIRFLOW__CORE__UNIT_TEST_MODE",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
    }
)
_DROPPED_ENV_PREFIXES = ("AIRFLOW__DATABASE__", "_AIRFLOW")


@dataclass(frozen=True)
class UndecodedXCom:
    """An XCom row whose value could not be turned back into a Python object.

    ``raw_json`` is the column's JSON text (what serde stored); ``error`` says which step failed:
    deserialisation in the child (what a downstream ``xcom_pull`` would have raised), or pickling the
    result across the process boundary (e.g. a class defined in the DAG file itself).
    """

    raw_json: str
    error: str


@dataclass(frozen=True)
class DagTestCall:
    """One ``dag.test()`` call: its run's state, task states and XComs (as in :class:`DagTestOutcome`)."""

    run_id: str
    state: str
    logical_date: datetime | None
    task_states: dict[tuple[str, int], str]
    xcoms: dict[tuple[str, int, str], Any]
    seconds: float
    #: (task_id, map_index) -> the task_instance's ``rendered_map_index`` (None for most unmapped tasks)
    rendered_map_indexes: dict[tuple[str, int], str | None] = field(default_factory=dict)
    #: (uri, name, extra, source task_id, source map_index) of each asset event the run's tasks emitted,
    #: by event id
    asset_events: tuple[tuple[str, str, Any, str, int], ...] = ()
    #: (dag_id, run_id, conf, state) of each run of another DAG the run's tasks triggered
    triggered_runs: tuple[tuple[str, str, Any, str], ...] = ()


@dataclass(frozen=True)
class DagTestOutcome:
    """What one ``dag.test()`` run left in the metadata DB, plus timings.

    ``task_states`` maps ``(task_id, map_index)`` to a state string ("none" for a TI that never got
    one); ``xcoms`` maps ``(task_id, map_index, key)`` to the value a downstream task would receive, or
    an :class:`UndecodedXCom`. Both describe the first call when ``repeat > 1``.
    """

    dag_id: str
    state: str
    run_id: str
    logical_date: datetime | None
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    task_states: dict[tuple[str, int], str]
    xcoms: dict[tuple[str, int, str], Any]
    seconds: float
    setup_seconds: float
    seconds_per_call: tuple[float, ...]
    states_per_call: tuple[str, ...]
    #: seconds per phase: spawn, import_airflow, db_init, load_dag, collect, total (the first DAG of a
    #: batch also: db_copy, total_batch); the child's start is counted in the first DAG it runs
    timings: dict[str, float] = field(default_factory=dict)
    #: every call, in order (``repeat`` > 1: consecutive runs a day apart)
    calls: tuple[DagTestCall, ...] = ()
    #: the first call's asset events and triggered runs (see :class:`DagTestCall`)
    asset_events: tuple[tuple[str, str, Any, str, int], ...] = ()
    triggered_runs: tuple[tuple[str, str, Any, str], ...] = ()

    @property
    def undecoded(self) -> dict[tuple[str, int, str], UndecodedXCom]:
        return {k: v for k, v in self.xcoms.items() if isinstance(v, UndecodedXCom)}


class DagTestError(RuntimeError):
    """The dag.test() subprocess failed before it could report an outcome."""

    def __init__(self, message: str, *, returncode: int | None, stderr_tail: str, stdout_tail: str):
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.stdout_tail = stdout_tail


class DagTestTimeout(DagTestError):
    """The dag.test() subprocess ran past its timeout and was killed with everything it started."""


@dataclass(frozen=True)
class DagTestRequest:
    """One DAG for :func:`run_dag_tests`: which file and DAG, and how to call ``dag.test()``.

    ``repeat`` calls dag.test() that many times, call *i* at ``logical_date + i`` days, so that the
    calls are consecutive runs of the DAG (what depends_on_past and include_prior_dates look at).
    """

    dag_file: str | Path
    dag_id: str
    logical_date: datetime | None = None
    conf: dict[str, Any] | None = None
    repeat: int = 1
    #: dag.test() waits (one second, then looks again) for ever when a task can never run, e.g. held by
    #: depends_on_past; with this set, a call gives up after that many waits and its run is reported
    #: as it was left (``running``). Waits for a retry count too: keep it above the DAG's retry delays.
    max_waits: int | None = None
    #: task_id -> {"chosen_options": [...], "params_input": {...}, "responded_by": user}: given through
    #: the public API's route (``update_hitl_detail``) as soon as the task's Human-in-the-loop request
    #: is in the DB, while the operator waits for it (Airflow 3.1+)
    hitl_responses: Mapping[str, Mapping[str, Any]] | None = None


def run_dag_test(
    dag_file: str | Path,
    dag_id: str,
    *,
    logical_date: datetime | None = None,
    conf: dict[str, Any] | None = None,
    timeout: float = 600,
    repeat: int = 1,
    bundle: Literal["file", "folder"] = "file",
    env: Mapping[str, str] | None = None,
    cache_db: bool = True,
    cache_dir: str | Path | None = None,
    log_file: str | Path | None = None,
    hitl_responses: Mapping[str, Mapping[str, Any]] | None = None,
) -> DagTestOutcome:
    """Run ``dag_id`` from ``dag_file`` with Airflow's ``dag.test()`` in a fresh subprocess.

    ``logical_date=None`` lets dag.test() use "now". ``repeat`` calls dag.test() that many times in
    the same process (call *i* at ``logical_date + i`` days, since a run at the same logical date
    would be found finished and not run again), to tell a cold call from a warm one; every call's
    run is in ``outcome.calls``.

    ``bundle="file"`` copies only ``dag_file`` into a fresh bundle so that sibling DAG files are not
    parsed; its folder stays importable and its Python-free siblings (``sql/``, templates) are linked
    in. ``"folder"`` uses the file's folder itself as the bundle: every dag.test() call then parses
    and serialises all of it, and one sibling that fails to serialise fails the run.

    ``env`` adds variables to the child's environment, e.g.
    ``AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES`` or ``AIRFLOW__CORE__PLUGINS_FOLDER`` (plugins
    are not loaded from the caller's AIRFLOW_HOME). Other ``AIRFLOW__*`` variables of the caller are
    passed through; ``[database]`` ones are dropped so that no run can touch a real metadata DB.

    With ``cache_db`` a freshly initialised metadata DB is kept as a template in ``cache_dir``
    (default: a per-user folder in the system temp dir) and copied for later runs; it is keyed by the
    Airflow, SQLAlchemy and SQLite versions and the passed-through config, and replaced atomically.
    ``log_file`` receives the child's stdout and then its stderr (Airflow's and the tasks' logs).
    ``hitl_responses`` answers Human-in-the-loop tasks as a person would (see :class:`DagTestRequest`).

    Raises :class:`DagTestError` (a RuntimeError) with the tail of the child's stderr if it fails,
    and :class:`DagTestTimeout` after killing it if it runs longer than ``timeout`` seconds.
    """
    request = DagTestRequest(
        dag_file, dag_id, logical_date=logical_date, conf=conf, repeat=repeat, hitl_responses=hitl_responses
    )
    (result,) = run_dag_tests(
        [request],
        timeout=timeout,
        bundle=bundle,
        env=env,
        cache_db=cache_db,
        cache_dir=cache_dir,
        log_file=log_file,
    )
    if isinstance(result, DagTestError):
        raise result
    return result


def run_dag_tests(
    requests: Sequence[DagTestRequest],
    *,
    timeout: float = 600,
    bundle: Literal["file", "folder"] = "file",
    env: Mapping[str, str] | None = None,
    cache_db: bool = True,
    cache_dir: str | Path | None = None,
    log_file: str | Path | None = None,
) -> list[DagTestOutcome | DagTestError]:
    """Run many DAGs through ``dag.test()``, one after another in one subprocess: one result each.

    The subprocess pays for importing Airflow and preparing the metadata DB once, so a DAG costs
    only its parse and run. Each result is a :class:`DagTestOutcome`, or the :class:`DagTestError`
    that DAG raised (:class:`DagTestTimeout` if it ran past ``timeout`` seconds, counted from the
    previous DAG's end): a DAG that fails, hangs or kills its interpreter costs only itself, since
    the rest go on in a fresh subprocess on the same metadata DB. DAGs sharing a ``dag_id`` run in
    separate subprocesses and DBs, so that no run of one is found by the other. Every DAG gets a
    bundle of its own (see :func:`run_dag_test` for ``bundle`` and the other arguments).
    """
    requests = list(requests)
    for request in requests:
        if request.repeat < 1:
            raise ValueError(f"repeat must be >= 1, got {request.repeat}")
    if bundle not in ("file", "folder"):
        raise ValueError(f"bundle must be 'file' or 'folder', got {bundle!r}")
    paths = [Path(r.dag_file).resolve() for r in requests]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"DAG file not found: {path}")
    if log_file is not None:
        Path(log_file).write_bytes(b"")

    results: list[DagTestOutcome | DagTestError | None] = [None] * len(requests)
    pending = list(range(len(requests)))
    while pending:
        chunk, seen, later = [], set(), []
        for index in pending:
            (later if requests[index].dag_id in seen else chunk).append(index)
            seen.add(requests[index].dag_id)
        batch = _Batch(
            [requests[i] for i in chunk], [paths[i] for i in chunk], bundle, env, cache_db, cache_dir
        )
        for index, result in zip(chunk, batch.run(timeout, log_file), strict=True):
            results[index] = result
        pending = later
    return [r for r in results if r is not None]


# --------------------------------------------------------------------------------------------- parent


class _Batch:
    """DAGs with distinct dag_ids, run in turn by as few children as their failures allow."""

    def __init__(
        self,
        requests: list[DagTestRequest],
        paths: list[Path],
        bundle: str,
        env: Mapping[str, str] | None,
        cache_db: bool,
        cache_dir: str | Path | None,
    ) -> None:
        self.requests = requests
        self.paths = paths
        self.bundle = bundle
        self.env = env
        self.cache_db = cache_db
        self.cache_dir = cache_dir

    def run(self, timeout: float, log_file: str | Path | None) -> list[DagTestOutcome | DagTestError]:
        started = time.perf_counter()
        workdir = Path(tempfile.mkdtemp(prefix="pytest_xcom-dagtest-"))
        try:
            return self._run_in(workdir, timeout, started)
        finally:
            if log_file is not None:
                _save_logs(workdir, Path(log_file))
            shutil.rmtree(workdir, ignore_errors=True)

    def _run_in(self, workdir: Path, timeout: float, started: float) -> list[DagTestOutcome | DagTestError]:
        home = workdir / "home"
        home.mkdir()
        items = []
        for index, (request, path) in enumerate(zip(self.requests, self.paths, strict=True)):
            if self.bundle == "file":
                # A bundle per DAG: dag.test() re-parses its DAG's whole bundle on every call (3.3).
                bundle_dir = workdir / "dags" / str(index)
                bundle_dir.mkdir(parents=True)
                shutil.copy2(path, bundle_dir / path.name)
                _link_resources(path, bundle_dir)
            else:
                bundle_dir = path.parent
            items.append(
                {
                    "dag_file": str(bundle_dir / path.name),
                    "dag_id": request.dag_id,
                    "bundle_dir": str(bundle_dir),
                    "logical_date": request.logical_date,
                    "conf": request.conf,
                    "repeat": request.repeat,
                    "max_waits": request.max_waits,
                    "hitl_responses": request.hitl_responses,
                }
            )
        dag_dirs = list(dict.fromkeys(p.parent for p in self.paths))
        child_env = _child_env(home, Path(items[0]["bundle_dir"]), dag_dirs, self.env)

        db_path = home / _DB_FILE
        template = _template_path(child_env, self.cache_dir) if self.cache_db else None
        copy_started = time.perf_counter()
        db_ready = template is not None and _copy_template(template, db_path)
        db_copy_seconds = time.perf_counter() - copy_started

        results: list[DagTestOutcome | DagTestError] = []
        while len(results) < len(items):
            start = len(results)
            request = {
                "items": items,
                "start": start,
                "db_path": str(db_path),
                "db_ready": db_ready,
                "template": None if template is None or db_ready else str(template),
                "spawned_at": time.time(),
            }
            (workdir / _REQUEST_FILE).write_bytes(pickle.dumps(request))
            (workdir / _READY_FILE).unlink(missing_ok=True)
            payloads, failure = _run_child(workdir, child_env, timeout, start, len(items))
            for offset, payload in enumerate(payloads):
                index = start + offset
                results.append(self._outcome(index, payload, workdir))
            if (workdir / _READY_FILE).exists():
                db_ready = True
            if failure is not None:
                if not (workdir / _READY_FILE).exists() and not payloads:
                    # The child died before it could run anything: so would the next one.
                    results.extend(failure for _ in range(len(results), len(items)))
                else:
                    results.append(failure)
        if results and isinstance(results[0], DagTestOutcome):
            results[0].timings["db_copy"] = db_copy_seconds
            results[0].timings["total_batch"] = time.perf_counter() - started
        return results

    def _outcome(self, index: int, payload: dict[str, Any], workdir: Path) -> DagTestOutcome | DagTestError:
        dag_id = self.requests[index].dag_id
        if "error" in payload:
            stderr_tail = payload["error"] + "\n" + _tail(workdir / _STDERR_FILE)
            return DagTestError(
                f"dag.test() of {dag_id!r} raised:\n{payload['error']}",
                returncode=None,
                stderr_tail=stderr_tail,
                stdout_tail=_tail(workdir / _STDOUT_FILE),
            )
        calls = tuple(
            DagTestCall(
                run_id=call["run_id"],
                state=call["state"],
                logical_date=call["logical_date"],
                task_states=call["task_states"],
                xcoms={key: _decode_xcom(entry) for key, entry in call["xcoms"].items()},
                seconds=call["seconds"],
                rendered_map_indexes=call.get("rendered_map_indexes", {}),
                asset_events=tuple(call.get("asset_events", ())),
                triggered_runs=tuple(call.get("triggered_runs", ())),
            )
            for call in payload["calls"]
        )
        first = calls[0]
        timings = {**payload["timings"], "exit": 0.0}
        return DagTestOutcome(
            dag_id=dag_id,
            state=first.state,
            run_id=first.run_id,
            logical_date=first.logical_date,
            data_interval_start=payload["data_interval_start"],
            data_interval_end=payload["data_interval_end"],
            task_states=first.task_states,
            xcoms=first.xcoms,
            seconds=first.seconds,
            setup_seconds=payload["setup_seconds"],
            seconds_per_call=tuple(c.seconds for c in calls),
            states_per_call=tuple(c.state for c in calls),
            timings=timings,
            calls=calls,
            asset_events=first.asset_events,
            triggered_runs=first.triggered_runs,
        )


def _child_env(
    home: Path, bundle_dir: Path, dag_dirs: list[Path], extra: Mapping[str, str] | None
) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _OWNED_ENV and not name.startswith(_DROPPED_ENV_PREFIXES)
    }
    bundles = [
        {
            "name": _BUNDLE_NAME,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(bundle_dir), "refresh_interval": 0},
        }
    ]
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW_CONFIG": str(home / "airflow.cfg"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / _DB_FILE}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(bundle_dir),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            # unit_test_mode would load unit_tests.cfg, which changes behaviour the in-memory runner is
            # compared against (allowed_deserialization_classes, data interval rules), so it stays off.
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        }
    )
    # Airflow 3.0-3.2's in-process execution API builds its token validator at start-up and fails to
    # start without a signing key (3.3 stubs the validator out); a throwaway one serves a throwaway DB.
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", os.urandom(16).hex())
    # The package must be importable by `-m` even when it is not installed, and a DAG copied away from
    # its folder must still import its siblings as it would from the real bundle.
    package_root = str(Path(__file__).resolve().parent.parent)
    paths = [package_root, *env.get("PYTHONPATH", "").split(os.pathsep), *map(str, dag_dirs)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if p))
    env.update(extra or {})
    return env


def _link_resources(dag_path: Path, bundle_dir: Path) -> None:
    # Templates and other data next to the DAG (e.g. `sql/query.sql` found through the DAG folder
    # on Jinja's search path) must resolve from the copy too. Only what holds no Python is linked,
    # so the bundle still parses the one DAG file.
    for entry in dag_path.parent.iterdir():
        if entry.name == dag_path.name or entry.name in ("__pycache__", ".airflowignore"):
            continue
        if entry.suffix == ".py" or (entry.is_dir() and any(entry.rglob("*.py"))):
            continue
        try:
            (bundle_dir / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        except OSError:  # pragma: no cover - no symlinks (Windows without privileges)
            pass


def _template_path(child_env: Mapping[str, str], cache_dir: str | Path | None) -> Path:
    # What ends up in a freshly initialised DB: the schema (Airflow, SQLAlchemy, SQLite versions and
    # the installed migration files) and a few rows derived from config (default pool, log template).
    spec = importlib.util.find_spec("airflow")
    package_dir = Path(spec.origin).parent if spec and spec.origin else Path()
    migrations = sorted(p.name for p in (package_dir / "migrations" / "versions").glob("*.py"))
    key_parts = [
        _dist_version("apache-airflow"),
        _dist_version("apache-airflow-core"),
        _dist_version("sqlalchemy"),
        sqlite3.sqlite_version,
        str(package_dir),
        migrations,
        sorted(
            (k, v)
            for k, v in child_env.items()
            if k.startswith("AIRFLOW__") and "DATABASE" not in k and k not in _OWNED_ENV
        ),
    ]
    digest = hashlib.sha256(json.dumps(key_parts).encode()).hexdigest()[:16]
    base = (
        Path(cache_dir)
        if cache_dir is not None
        else Path(tempfile.gettempdir()) / f"pytest_xcom-{_user_tag()}"
    )
    return base / f"airflow-{_dist_version('apache-airflow')}-{digest}.db"


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _user_tag() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid else os.environ.get("USERNAME", "user")


def _copy_template(template: Path, db_path: Path) -> bool:
    # A template that vanishes or is unreadable only costs an initdb in the child.
    try:
        shutil.copyfile(template, db_path)
    except OSError:
        return False
    return True


def _run_child(
    workdir: Path, env: dict[str, str], timeout: float, start: int, count: int
) -> tuple[list[dict[str, Any]], DagTestError | None]:
    """Run the child from item ``start`` on: the payloads it wrote, and the error that stopped it."""
    command = [sys.executable, "-m", "pytest_xcom._dagtest", str(workdir)]
    payloads: list[dict[str, Any]] = []
    with open(workdir / _STDOUT_FILE, "ab") as out, open(workdir / _STDERR_FILE, "ab") as err:
        # A session of its own, so that a timeout can kill the whole process group at once.
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while start + len(payloads) < count:
                result_file = workdir / _result_name(start + len(payloads))
                if result_file.exists():
                    payloads.append(pickle.loads(result_file.read_bytes()))
                    result_file.unlink()
                    deadline = time.monotonic() + timeout
                    continue
                returncode = proc.poll()
                if returncode is not None:
                    if result_file.exists():
                        continue
                    what = f"exited with code {returncode}" if returncode else "exited without a result"
                    dag_id = _item_dag_id(workdir, start + len(payloads))
                    return payloads, _child_error(
                        DagTestError, f"dag.test() subprocess for {dag_id!r} {what}", workdir, returncode
                    )
                if time.monotonic() > deadline:
                    _kill_tree(proc)
                    return payloads, _child_error(
                        DagTestTimeout, f"dag.test() subprocess timed out after {timeout}s", workdir, None
                    )
                time.sleep(_POLL_SECONDS)
            proc.wait(timeout=_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
        except BaseException:
            _kill_tree(proc)
            raise
    return payloads, None


def _result_name(index: int) -> str:
    return f"result-{index}.pickle"


def _item_dag_id(workdir: Path, index: int) -> str:
    request = pickle.loads((workdir / _REQUEST_FILE).read_bytes())
    return str(request["items"][index]["dag_id"])


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    # Operators often start their own sessions (BashOperator's subprocess hook does), which the
    # process-group kill misses, so every descendant is collected first and killed by pid.
    descendants = []
    try:
        import psutil  # an Airflow dependency

        descendants = psutil.Process(proc.pid).children(recursive=True)
    except Exception:
        pass
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows has no process groups
            proc.kill()
    except ProcessLookupError:
        pass
    for child in descendants:
        try:
            child.kill()
        except Exception:
            pass
    proc.wait()


def _child_error(
    kind: type[DagTestError], message: str, workdir: Path, returncode: int | None
) -> DagTestError:
    stderr_tail = _tail(workdir / _STDERR_FILE)
    stdout_tail = _tail(workdir / _STDOUT_FILE)
    return kind(
        f"{message}\n--- stderr (tail) ---\n{stderr_tail}\n--- stdout (tail) ---\n{stdout_tail}",
        returncode=returncode,
        stderr_tail=stderr_tail,
        stdout_tail=stdout_tail,
    )


def _save_logs(workdir: Path, log_file: Path) -> None:
    with open(log_file, "wb") as out:
        for name in (_STDOUT_FILE, _STDERR_FILE):
            try:
                with open(workdir / name, "rb") as f:
                    shutil.copyfileobj(f, out)
            except OSError:
                pass


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - _TAIL_CHARS))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _decode_xcom(entry: tuple[Any, ...]) -> Any:
    if entry[0] == "raw":
        return UndecodedXCom(raw_json=entry[1], error=entry[2])
    try:
        return pickle.loads(entry[1])
    except Exception as exc:  # e.g. a class defined in the DAG module, importable only in the child
        return UndecodedXCom(raw_json=entry[2], error=f"unpickling failed: {type(exc).__name__}: {exc}")


# ---------------------------------------------------------------------------------------------- child


def _child_main(workdir: Path) -> None:
    started = time.perf_counter()
    request = pickle.loads((workdir / _REQUEST_FILE).read_bytes())
    timings = {"spawn": max(0.0, time.time() - request["spawned_at"])}

    mark = time.perf_counter()
    from airflow import settings  # noqa: F401  (configures the ORM from the environment)

    timings["import_airflow"] = time.perf_counter() - mark
    _accept_bodies_without_content_type()
    _keep_execution_api_lifespans()
    _answer_trigger_requests_in_line()

    mark = time.perf_counter()
    if not request["db_ready"]:
        from airflow.utils.db import initdb

        # On an empty DB initdb creates the schema from the ORM models and stamps the head revision,
        # much faster than replaying migrations (resetdb would also drop tables that do not exist).
        initdb()
        if request["template"]:
            try:
                _save_template(Path(request["db_path"]), Path(request["template"]))
            except (OSError, sqlite3.Error) as exc:  # a cache that cannot be written is only slower
                print(f"pytest_xcom._dagtest: DB template not saved: {exc}", file=sys.stderr)
    timings["db_init"] = time.perf_counter() - mark
    (workdir / _READY_FILE).touch()
    child_setup = time.perf_counter() - started

    items = request["items"]
    for index in range(request["start"], len(items)):
        item_started = time.perf_counter()
        try:
            payload = _run_item(items[index])
        except BaseException as exc:  # SystemExit too: one DAG's failure must not lose the others
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = "".join(traceback.format_exception(exc))
            print(f"pytest_xcom._dagtest: {items[index]['dag_id']!r} failed:\n{error}", file=sys.stderr)
            payload = {"error": error}
        else:
            payload["timings"].update(timings)
            payload["timings"]["total"] = time.perf_counter() - item_started + child_setup
            payload["setup_seconds"] += child_setup
        # Only the first DAG a child runs pays for its start.
        timings = dict.fromkeys(timings, 0.0)
        child_setup = 0.0
        tmp = workdir / (_result_name(index) + ".tmp")
        tmp.write_bytes(pickle.dumps(payload))
        os.replace(tmp, workdir / _result_name(index))


def _run_item(item: dict[str, Any]) -> dict[str, Any]:
    bundles = [
        {
            "name": _BUNDLE_NAME,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": item["bundle_dir"], "refresh_interval": 0},
        }
    ]
    # Read by every DagBundlesManager (dag.test() makes its own), so each DAG sees only its bundle.
    os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(bundles)
    timings = {}
    mark = time.perf_counter()
    dag = _load_dag(item["dag_file"], item["dag_id"], item["bundle_dir"])
    timings["load_dag"] = time.perf_counter() - mark

    calls = []
    run_ids = []
    for i in range(item["repeat"]):
        kwargs: dict[str, Any] = {}
        if item["logical_date"] is not None:
            kwargs["logical_date"] = item["logical_date"] + timedelta(days=i)
        mark = time.perf_counter()
        with (
            worker_globals_restored(),
            _waits_bounded(item.get("max_waits")),
            _hitl_responder(item["dag_id"], item.get("hitl_responses")),
        ):
            try:
                run_id = dag.test(run_conf=item["conf"], **kwargs).run_id
            except _GaveUpWaiting:
                run_id = _latest_run_id(item["dag_id"])
        calls.append({"seconds": time.perf_counter() - mark})
        run_ids.append(run_id)

    mark = time.perf_counter()
    collected = _collect(item["dag_id"], run_ids)
    timings["collect"] = time.perf_counter() - mark
    for call, run in zip(calls, collected["calls"], strict=True):
        call.update(run)
    return {
        "calls": calls,
        "data_interval_start": collected["data_interval_start"],
        "data_interval_end": collected["data_interval_end"],
        "setup_seconds": timings["load_dag"],
        "timings": timings,
    }


class _GaveUpWaiting(Exception):
    """dag.test() waited as often as allowed for a task that cannot run."""


@contextlib.contextmanager
def _waits_bounded(max_waits: int | None) -> Iterator[None]:
    # dag.test()'s loop sleeps through ``time.sleep`` when nothing can run; only its own calls count.
    if max_waits is None:
        yield
        return
    real_sleep, waits = time.sleep, 0

    def sleep(seconds: float) -> None:
        nonlocal waits
        caller = sys._getframe(1).f_code
        if caller.co_name == "test" and caller.co_filename.endswith(os.path.join("definitions", "dag.py")):
            waits += 1
            if waits > max_waits:
                raise _GaveUpWaiting
        real_sleep(seconds)

    time.sleep = sleep  # type: ignore[assignment]
    try:
        yield
    finally:
        time.sleep = real_sleep  # type: ignore[assignment]


def _latest_run_id(dag_id: str) -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(DagRun.run_id).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        return session.scalars(query).one()


@contextlib.contextmanager
def _hitl_responder(dag_id: str, responses: Mapping[str, Mapping[str, Any]] | None) -> Iterator[None]:
    """Answer the DAG's Human-in-the-loop requests, while dag.test() runs, as a person using the API would.

    A thread looks for requests without a response (hitl_detail rows) of the tasks named in ``responses``
    and gives each its response through the public API's own route function: before 3.3 the HITLTrigger
    that dag.test() runs in line finds it at its next poll; from 3.3 the route resumes the task parked in
    ``awaiting_input`` and dag.test()'s loop runs it. If the thread fails, dag.test() is interrupted (it
    would wait for ever) and the DAG's result is the thread's error.
    """
    if not responses:
        yield
        return
    import _thread
    import threading

    respond = _hitl_route()
    stop = threading.Event()
    failure: list[BaseException] = []
    gate = threading.Lock()

    def respond_while_running() -> None:
        try:
            while not stop.wait(_HITL_POLL_SECONDS):
                if gate.acquire(timeout=_HITL_POLL_SECONDS):
                    try:
                        respond(dag_id, responses)
                    finally:
                        gate.release()
        except BaseException as exc:
            failure.append(exc)
            if not stop.is_set():
                _thread.interrupt_main()

    thread = threading.Thread(target=respond_while_running, name="pytest_xcom-hitl-responder", daemon=True)
    with _responses_between_steps(gate):
        thread.start()
        try:
            yield
        except KeyboardInterrupt:
            if not failure:
                raise
        finally:
            stop.set()
            thread.join(timeout=_EXIT_SECONDS)
    if failure:
        raise RuntimeError(f"answering a Human-in-the-loop request of {dag_id!r} failed") from failure[0]


@contextlib.contextmanager
def _responses_between_steps(gate: Any) -> Iterator[None]:
    # A response must reach a task that is waiting, as it reaches one when a person reads the request:
    # dag.test() holds ``gate`` while it runs a task, except while it runs the task's trigger in line
    # (before 3.3 the HITLTrigger polls for the response there). Given while 3.3's task is being parked,
    # the response resumes it (the execution API sees it and schedules the task) and then dag.test()'s
    # ``_run_task`` writes the state the task reported, awaiting_input, over that: the run waits for ever.
    from airflow.sdk.definitions import dag as dag_module

    run_task, run_inline_trigger = dag_module._run_task, dag_module._run_inline_trigger

    @functools.wraps(run_task)
    def gated_run_task(*args: Any, **kwargs: Any) -> Any:
        with gate:
            return run_task(*args, **kwargs)

    @functools.wraps(run_inline_trigger)
    def open_run_inline_trigger(*args: Any, **kwargs: Any) -> Any:
        gate.release()
        try:
            return run_inline_trigger(*args, **kwargs)
        finally:
            gate.acquire()

    dag_module._run_task, dag_module._run_inline_trigger = gated_run_task, open_run_inline_trigger
    try:
        yield
    finally:
        dag_module._run_task, dag_module._run_inline_trigger = run_task, run_inline_trigger


_HITL_POLL_SECONDS = 0.1


def _hitl_route() -> Any:
    """A function giving the waiting requests their responses through ``update_hitl_detail``."""
    # Imported on the main thread: the route module pulls in the Core API's security and models.
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    def respond(dag_id: str, responses: Mapping[str, Mapping[str, Any]]) -> None:
        with create_session() as session:
            waiting = session.execute(
                select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.map_index)
                .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
                .where(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.task_id.in_(list(responses)),
                    HITLDetail.responded_at.is_(None),
                )
            ).all()
            for run_id, task_id, map_index in waiting:
                response = responses[task_id]
                # The route asks the auth manager only about assigned users; the user is its own record.
                name = str(response.get("responded_by") or "pytest")
                user = SimpleAuthManagerUser(username=name, role=None)
                payload = UpdateHITLDetailPayload(
                    chosen_options=list(response["chosen_options"]),
                    params_input=dict(response.get("params_input") or {}),
                )
                update_hitl_detail(
                    dag_id=dag_id,
                    dag_run_id=run_id,
                    task_id=task_id,
                    update_hitl_detail_payload=payload,
                    user=user,
                    session=session,
                    map_index=map_index,
                )
                # The API's session dependency commits after the route (3.3's route leaves it to it).
                session.commit()

    return respond


def _accept_bodies_without_content_type() -> None:
    # FastAPI >= 0.132 refuses a JSON body sent without a JSON Content-Type, as Airflow 3.0's task SDK
    # client sends it to the in-process execution API (`content=body.model_dump_json()`), so every task
    # of dag.test() failed to start where pip resolved a FastAPI newer than that Airflow release knew.
    # Such a body is read as JSON again, as the FastAPI of the release read it; nothing else changes.
    try:
        import fastapi.routing
    except ImportError:
        return
    original = fastapi.routing.get_request_handler
    if "strict_content_type" not in inspect.signature(original).parameters:
        return

    @functools.wraps(original)
    def lenient(*args: Any, **kwargs: Any) -> Any:
        kwargs["strict_content_type"] = False
        return original(*args, **kwargs)

    fastapi.routing.get_request_handler = lenient  # type: ignore[assignment]


def _keep_execution_api_lifespans() -> None:
    # Airflow 3.0-3.2's dag.test() builds an in-process execution API per task (Cadwyn versioning every
    # route: seconds each) and keeps only its transport, so the API object and the exit stack holding its
    # lifespan are garbage as soon as the client exists. From svcs 26.2 the lifespan's exit detaches
    # `app.state.svcs_registry`, and every request then fails (KeyError: 'svcs_registry'). 3.3 builds one
    # per process (`functools.lru_cache`), which keeps it alive; the same is done here where it is not.
    try:
        from airflow.sdk.execution_time import supervisor
    except ImportError:
        return
    original = getattr(supervisor, "in_process_api_server", None)
    if original is None or hasattr(original, "cache_info"):
        return
    supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(original)


def _answer_trigger_requests_in_line() -> None:
    # Before 3.3 a Human-in-the-loop operator defers to HITLTrigger, which asks for its response through
    # the triggerer's supervisor (GetHITLDetailResponse, UpdateHITLDetail at its timeout). dag.test() runs
    # the trigger in line through the task's in-process supervisor, which answers neither ("Unhandled
    # request"), so every such task failed there. They are answered as the triggerer's supervisor answers
    # them (TriggerRunnerSupervisor._handle_request): through the execution API, from the metadata DB.
    try:
        from airflow.jobs.triggerer_job_runner import HITLDetailResponseResult
        from airflow.sdk.execution_time.comms import GetHITLDetailResponse, UpdateHITLDetail
        from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor
    except ImportError:  # 3.0 has no Human-in-the-loop; 3.3's operator never defers
        return
    original = InProcessTestSupervisor._handle_request

    @functools.wraps(original)
    def handle_request(self: Any, msg: Any, log: Any, req_id: int) -> None:
        if isinstance(msg, UpdateHITLDetail):
            api_resp = self.client.hitl.update_response(
                ti_id=msg.ti_id, chosen_options=msg.chosen_options, params_input=msg.params_input
            )
        elif isinstance(msg, GetHITLDetailResponse):
            api_resp = self.client.hitl.get_detail_response(ti_id=msg.ti_id)
        else:
            return original(self, msg, log, req_id)
        self.send_msg(HITLDetailResponseResult.from_api_response(response=api_resp), request_id=req_id)
        return None

    InProcessTestSupervisor._handle_request = handle_request  # type: ignore[method-assign]


def _save_template(db_path: Path, template: Path) -> None:
    from airflow import settings

    # Close Airflow's pooled connections first; VACUUM INTO then writes one self-contained file
    # (the WAL folded in) that is moved into place atomically, so concurrent sessions (xdist) only
    # ever see a whole template.
    if settings.engine is not None:
        settings.engine.dispose()
    template.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=template.name, suffix=".tmp", dir=template.parent)
    os.close(fd)
    os.unlink(tmp_name)  # VACUUM INTO refuses to overwrite an existing file
    try:
        conn = sqlite3.connect(db_path)
        try:
            conn.execute("VACUUM INTO ?", (tmp_name,))
        finally:
            conn.close()
        os.replace(tmp_name, template)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _load_dag(dag_file: str, dag_id: str, bundle_dir: str) -> Any:
    # The same steps as `airflow dags test` (airflow.utils.cli.get_bagged_dag): register the bundle,
    # parse it with the parsing context set, and write the serialized DAG to the DB.
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.sdk.definitions._internal.dag_parsing_context import _airflow_parsing_context_manager

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    bundle = manager.get_bundle(_BUNDLE_NAME)
    bundle.initialize()
    with _airflow_parsing_context_manager(dag_id=dag_id):
        dagbag = _parse_into_db(dag_file, Path(bundle_dir), bundle)
    dag = dagbag.dags.get(dag_id)
    if dag is None:
        errors = "\n".join(f"{path}: {error}" for path, error in dagbag.import_errors.items())
        raise SystemExit(
            f"pytest_xcom._dagtest: DAG {dag_id!r} not found in {dag_file}; "
            f"found {sorted(dagbag.dags)}; import errors:\n{errors or '(none)'}"
        )
    return dag


def _parse_into_db(dag_file: str, bundle_path: Path, bundle: Any) -> Any:
    # This child runs without the package's compat layer (which imports the task SDK eagerly), so the
    # three generations of the DagBag API are told apart here, by what each version offers.
    try:  # 3.2+
        from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    except ImportError:
        pass
    else:
        dagbag = BundleDagBag(dag_folder=dag_file, bundle_path=bundle_path, bundle_name=bundle.name)
        sync_bag_to_db(dagbag, bundle.name, bundle.version)
        return dagbag
    try:  # 3.1
        from airflow.models.dagbag import BundleDagBag, sync_bag_to_db
    except ImportError:  # 3.0: `airflow dags test` parses without writing; dag.test() needs the rows
        from airflow.models.dagbag import DagBag

        dagbag = DagBag(dag_folder=dag_file, bundle_path=bundle_path, include_examples=False)
        dagbag.sync_to_db(bundle.name, bundle.version)
        return dagbag
    dagbag = BundleDagBag(dag_folder=dag_file, bundle_path=bundle_path)
    sync_bag_to_db(dagbag, bundle.name, bundle.version)
    return dagbag


def _collect(dag_id: str, run_ids: list[str]) -> dict[str, Any]:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.sdk.execution_time.xcom import XCom  # the configured backend, as xcom_pull uses it
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag_runs = {
            dr.run_id: dr
            for dr in session.scalars(
                select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id.in_(run_ids))
            )
        }
        calls = []
        for run_id in run_ids:
            run = dag_runs[run_id]
            tis = list(
                session.scalars(
                    select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
                )
            )
            task_states = {(ti.task_id, ti.map_index): _state(ti.state) for ti in tis}
            xcoms = {
                (row.task_id, row.map_index, row.key): _encode_xcom(XCom, row)
                for row in session.scalars(
                    select(XComModel).where(XComModel.dag_id == dag_id, XComModel.run_id == run_id)
                )
            }
            calls.append(
                {
                    "run_id": run_id,
                    "state": _state(run.state),
                    "logical_date": run.logical_date,
                    "task_states": task_states,
                    "xcoms": xcoms,
                    "rendered_map_indexes": {(ti.task_id, ti.map_index): ti.rendered_map_index for ti in tis},
                    **_collect_deployment(session, dag_id, run_id),
                }
            )
        first = dag_runs[run_ids[0]]
        return {
            "calls": calls,
            "data_interval_start": first.data_interval_start,
            "data_interval_end": first.data_interval_end,
        }


def _collect_deployment(session: Any, dag_id: str, run_id: str) -> dict[str, Any]:
    """The asset events a run's tasks emitted and the runs of other DAGs they triggered."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    rows = session.execute(
        select(AssetModel.uri, AssetModel.name, AssetEvent.extra, AssetEvent.source_task_id)
        .add_columns(AssetEvent.source_map_index)
        .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
        .where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)
        .order_by(AssetEvent.id)
    )
    triggered = session.scalars(select(DagRun).where(DagRun.dag_id != dag_id).order_by(DagRun.id))
    return {
        "asset_events": [tuple(row) for row in rows],
        "triggered_runs": [(dr.dag_id, dr.run_id, dr.conf, _state(dr.state)) for dr in triggered],
    }


def _state(state: Any) -> str:
    if state is None:
        return "none"
    return str(getattr(state, "value", state))


def _encode_xcom(backend: Any, row: Any) -> tuple[Any, ...]:
    # The column holds serde's JSON-ready structure (the execution API stores what the task sent,
    # unserialised); the backend's deserialize_value turns it into what xcom_pull hands a task.
    raw_json = json.dumps(row.value, sort_keys=True, default=repr)
    try:
        value = backend.deserialize_value(row)
    except Exception as exc:
        return ("raw", raw_json, f"deserialize failed: {type(exc).__name__}: {exc}")
    try:
        return ("pickle", pickle.dumps(value), raw_json)
    except Exception as exc:
        return ("raw", raw_json, f"pickling failed: {type(exc).__name__}: {exc}")


def _exit_now() -> None:
    # Interpreter finalisation after an Airflow run takes ~1.7 s (tearing down thousands of modules
    # and objects); nothing in this throwaway process needs it once the result file is in place.
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    _child_main(Path(sys.argv[1]))
    _exit_now()
