"""What more than one of Airflow 3.0, 3.1 and 3.2 does the same way, written once.

Each version module imports from here what holds for its Airflow and defines only what differs. Nothing
here imports a module that moved between those versions at import time: such imports are made inside the
function that needs them, which only the versions it is imported into call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from airflow.configuration import conf as core_conf
from airflow.sdk.definitions._internal.types import ArgNotSet
from airflow.sdk.definitions.taskgroup import MappedTaskGroup
from airflow.sdk.execution_time import comms as _comms

# -- 3.0 to 3.2 -----------------------------------------------------------------------------------------

# (class, attribute): the msgpack encoder both request and response frames use (the response frame
# subclasses the request frame).
FRAME_ENCODER = (_comms._RequestFrame, "req_encoder")


def make_request_frame(comms: Any, msg: Any) -> Any:
    """The request frame ``comms.send(msg)`` writes to the socket."""
    return _comms._RequestFrame(id=next(comms.id_counter), body=msg.model_dump())


def fast_triggered_in_mapped_group(task: Any, map_index: int) -> bool:
    """Whether instance ``map_index`` of ``task`` depends on every instance of an upstream that its mapped
    group does not expand over (TriggerRuleDep's ``_get_relevant_upstream_map_indexes``).

    Up to 3.2: every instance of a task whose own group is mapped, for the rules one upstream satisfies
    (one_success, one_failed, one_done), so one failed instance of such an upstream triggers them all.
    """
    return isinstance(task.task_group, MappedTaskGroup) and task.trigger_rule in (
        "one_success",
        "one_failed",
        "one_done",
    )


# -- 3.1 and 3.2 ----------------------------------------------------------------------------------------

# The API server's XCom routes (execution_api/routes/xcoms.py) in the order it tries them: (name, methods,
# path). A request reaches the first that matches its method and path.
XCOM_ROUTES = (
    ("item", {"GET"}, "/{dag_id}/{run_id}/{task_id}/{key:path}/item/{offset}"),
    ("slice", {"GET"}, "/{dag_id}/{run_id}/{task_id}/{key:path}/slice"),
    ("xcom", {"GET", "HEAD", "POST", "DELETE"}, "/{dag_id}/{run_id}/{task_id}/{key:path}"),
)


def secrets_masker() -> Any:
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    return _secrets_masker()


def rendered_fields_as_shown(sent: dict[str, Any]) -> dict[str, Any]:
    """The Rendered Template view's values from a SetRenderedFields body, as the API server stores them.

    From 3.1 the task masks them itself (registered secrets and sensitive field names); the API server's
    second pass, by field name, finds nothing more.
    """
    return dict(sent)


@contextlib.contextmanager
def frozen_clock_deserializers() -> Iterator[None]:
    # serde's datetime deserializer names the classes it rebuilds by string: freezegun does not matter.
    yield


# -- 3.0 and 3.1 ----------------------------------------------------------------------------------------


# TriggerRuleDep judges a teardown by its direct upstreams only; from 3.2 it also waits for every task
# between its setups and itself (``_evaluate_teardown_scope``).
TEARDOWN_WAITS_FOR_SCOPE = False

# DagRun.fetch_task_instances has no ORDER BY before 3.2: the scheduler sees a run's task instances in the
# table's order (SQLite's: as the rows were created), which decides which of them a pass evaluates first.
TASK_INSTANCES_IN_ROW_ORDER = True

# The states ti_skip_downstream (a branch's or short-circuit's skip) leaves alone: none before 3.2.
SKIP_DOWNSTREAM_SPARES: frozenset[str] = frozenset()


def retry_backoff_multiplier(task: Any) -> float:
    """The base of ``next_retry_datetime``'s exponential backoff (1: none); before 3.2 a flag for 2."""
    return 2.0 if task.retry_exponential_backoff else 1.0


def skip_decision_map_index(parent: Any, map_index: int) -> int:
    """The map index at which NotPreviouslySkippedDep looks for a branching parent's decision.

    Before 3.2 the child's own, so an expanded child of an unmapped parent (which wrote at -1) finds none.
    """
    return map_index


def is_arg_set(value: Any) -> bool:
    return not isinstance(value, ArgNotSet)


def manual_data_interval(dag: Any, logical_date: Any) -> Any:
    # A task SDK DAG still holds the scheduler's timetable classes.
    return dag.timetable.infer_manual_data_interval(run_after=logical_date)


def new_dagbag(folder: Any) -> Any:
    """An empty DagBag for ``folder``; before 3.2 it would also load Airflow's example DAGs unless told."""
    from airflow.models.dagbag import DagBag

    return DagBag(folder, include_examples=False, collect_dags=False, bundle_path=folder)


def list_dag_files(folder: Any, safe_mode: bool) -> list[str]:
    """The files the DAG processor parses in ``folder``: ``find_dag_file_paths`` with today's config.

    Before 3.2 Airflow reads ``[core] dag_ignore_file_syntax`` once, as the default argument of
    ``find_path_from_directory`` when ``airflow.utils.file`` is imported, which a DAG processor does
    after loading its config. A test sets config later, so the setting is passed here as that default
    would have been read; the rest is ``find_dag_file_paths`` as it is.
    """
    import zipfile
    from pathlib import Path

    from airflow.utils.file import find_path_from_directory, might_contain_dag

    syntax = core_conf.get_mandatory_value("core", "DAG_IGNORE_FILE_SYNTAX", fallback="glob")
    files = []
    for file_path in find_path_from_directory(folder, ".airflowignore", syntax):
        path = Path(file_path)
        with contextlib.suppress(Exception):  # Airflow logs such a file and goes on
            if path.is_file() and (path.suffix == ".py" or zipfile.is_zipfile(path)):
                if might_contain_dag(file_path, safe_mode):
                    files.append(file_path)
    return sorted(files)


def dag_serializer() -> Any:
    """The DAG serializer the DAG processor uses (``to_dict`` / ``from_dict``)."""
    from airflow.serialization.serialized_objects import SerializedDAG

    return SerializedDAG


def config_parsers() -> list[Any]:
    """Airflow's config parsers: one before 3.2, read by the task runner too."""
    return [core_conf]


def stored_next_kwargs(kwargs: dict[str, Any]) -> Any:
    """next_kwargs the scheduler or triggerer writes to the task instance, as the API server hands them on.

    Before 3.2 the column is ExtendedJSON, which stores BaseSerialization's form.
    """
    from airflow.serialization.serialized_objects import BaseSerialization

    return BaseSerialization.serialize(kwargs)


def serde_registry() -> dict[str, Any]:
    """serde's table of serializers by qualified type name."""
    from airflow.serialization import serde

    return serde._serializers  # type: ignore[return-value]


def datetime_serializer() -> Any:
    from airflow.serialization.serializers import datetime

    return datetime


def trigger_kwargs(data: Any) -> Any:
    """A deferring task's trigger kwargs as the triggerer rebuilds them from DeferTask.

    Before 3.2 DeferTask carries them in BaseSerialization's form, not serde's.
    """
    from airflow.serialization.serialized_objects import BaseSerialization

    return BaseSerialization.deserialize(data)


def resume_kwargs(event_payload: Any) -> Any:
    """The next_kwargs a task resumes with after its trigger fired, as dag.test() sets them.

    dag.test() puts ``{"event": payload}`` into the task instance's ExtendedJSON column, which stores it
    in BaseSerialization's form; the API server hands the worker that stored form.
    """
    from airflow.serialization.serialized_objects import BaseSerialization

    return BaseSerialization.serialize({"event": event_payload})


# -- 3.1 and 3.2 ----------------------------------------------------------------------------------------


def worker_log_config(sink: Any) -> dict[str, Any]:
    """``structlog.configure()`` arguments of a task process: JSON lines (bytes) into ``sink``.

    As the worker's ``configure_logging(json_output=True)``, with the secrets masked as the supervisor
    masks them before the lines reach the task's log.
    """
    from airflow.sdk._shared.logging.structlog import LoggerFactory, NamedBytesLogger, make_filtering_logger
    from airflow.sdk.log import logging_processors

    return {
        "processors": list(logging_processors(json_output=True, sending_to_supervisor=False)),
        "wrapper_class": make_filtering_logger(),
        "logger_factory": LoggerFactory(NamedBytesLogger, io=sink),
        "cache_logger_on_first_use": False,
    }
