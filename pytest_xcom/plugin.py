"""pytest hooks and fixtures. Each fixture delegates to the module that holds its logic.

Nothing here imports Airflow at module level: a session that loads the plugin without using its fixtures
does not pay for importing Airflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_xcom import _hypothesis, _supported, dag_items, secrets

if TYPE_CHECKING:
    from pytest_xcom.comms import InMemorySupervisorComms
    from pytest_xcom.config import AirflowConfig
    from pytest_xcom.context import StandIns, TaskContextFactory
    from pytest_xcom.dags import DagFolder
    from pytest_xcom.render import TaskRenderer
    from pytest_xcom.runner import DagRunner, TaskRunner
    from pytest_xcom.store import XComStore


# The stand-in DAG and tasks that tests name by task_id, built once per session (or xdist worker).
_STANDINS: pytest.StashKey[StandIns] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    _hypothesis.add_options(parser)
    dag_items.add_options(parser)
    secrets.add_options(parser)


# First, so that our profiles exist before hypothesis's own pytest_configure loads --hypothesis-profile.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    unsupported = _supported.unsupported_installed_airflow()
    if unsupported is not None:
        raise pytest.UsageError(unsupported)
    _hypothesis.configure(config)
    config.addinivalue_line(
        "markers",
        "airflow_config(values): set Airflow config for this test, e.g. "
        "airflow_config({'core.dagbag_import_timeout': 5}); restored afterwards",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    return _hypothesis.report_header(config)


@pytest.fixture
def xcom_store() -> XComStore:
    """A fresh, empty in-memory XCom store for this test.

    ``seed(task_id, value, key=..., map_index=...)`` stores what an upstream task pushed;
    ``get(task_id, key=...)`` returns what a downstream task would receive; ``assert_pushed(task_id,
    key, value)`` fails with what was pushed instead; ``records()``/iteration list every XCom as
    (dag_id, run_id, task_id, map_index, key, value); ``clear()`` empties it. Values take Airflow's
    worker path (serde, comms frame, JSON), so what Airflow refuses is refused here.
    """
    # Airflow is imported now, in the fixture's setup: imported for the first time inside a test's
    # freeze_time block, its pydantic models would be built on freezegun's fake datetime and fail.
    import pytest_xcom.comms  # noqa: F401
    from pytest_xcom.store import XComStore

    return XComStore()


@pytest.fixture
def xcom_comms(xcom_store: XComStore, request: pytest.FixtureRequest) -> Iterator[InMemorySupervisorComms]:
    """The task SDK's comms channel, answered from ``xcom_store``; installed for the test's duration.

    While this fixture is active, Airflow code in the test (``ti.xcom_push``, ``Variable.get``, ...)
    talks to it. Set ``xcom_comms.variables[...]`` and ``xcom_comms.connections[...]`` to give tasks
    variables and connections; the suite's, from the files the ini options ``xcom_variables`` and
    ``xcom_connections`` name, are there from the start. os.environ and the previous channel are
    restored afterwards.
    """
    from pytest_xcom._process import restored_environ
    from pytest_xcom.comms import installed
    from pytest_xcom.secrets import provide_suite

    with restored_environ(), installed(xcom_store.channel()) as comms:
        provide_suite(comms, request.config)
        yield comms


@pytest.fixture
def task_context(
    xcom_store: XComStore, xcom_comms: InMemorySupervisorComms, request: pytest.FixtureRequest
) -> Iterator[TaskContextFactory]:
    """Build Airflow's real template context for a task: ``ctx = task_context("my_task", params=...)``.

    Arguments: ``task_id`` (a stand-in task in a stand-in DAG ``test_dag``), or ``dag=`` / ``task=`` for
    your own; ``params`` (the stand-in's params), ``conf`` (the run's conf, validated against the
    params), ``logical_date`` (datetime or ISO-8601 string; default "now", so ``freezegun`` decides it),
    ``run_after``, ``run_id``, ``map_index``, ``try_number``. ``ctx["ti"]`` is Airflow's
    RuntimeTaskInstance whose ``xcom_push``/``xcom_pull`` use ``xcom_store``; contexts made in one test
    share the store and the DAG run, so one task can pull what another pushed.
    """
    from pytest_xcom.context import StandIns, TaskContextFactory

    standins = request.config.stash.setdefault(_STANDINS, StandIns())
    factory = TaskContextFactory(store=xcom_store, standins=standins)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def run_task(task_context: TaskContextFactory) -> TaskRunner:
    """Run one task through Airflow's own task runner: ``result = run_task(my_task, conf=...)``.

    Accepts an operator or what calling a ``@task`` function returns. Templates are rendered, XComArgs
    resolved, pre/execute/post run and the return value pushed, reading upstream XComs from
    ``xcom_store`` (seed them first). Keyword arguments: ``logical_date``, ``run_after``, ``run_id``,
    ``conf``, ``map_index``, ``try_number``, ``variables``, ``connections``, ``asset_events``
    ({asset or URI: [extra, ...]}: earlier events for ``inlet_events``) and ``hitl_responses``
    ({task_id: {"chosen_options": [...], "params_input": {...}}}: a person's answer to a HITL task).
    Returns a result with ``.state``, ``.return_value``, ``.xcoms`` (key -> value), ``.error`` (what the
    task raised) and ``.asset_events`` (what it emitted). It shares the DAG run of ``task_context``.
    """
    from pytest_xcom.runner import TaskRunner

    return TaskRunner(task_context)


@pytest.fixture
def run_dag(xcom_store: XComStore, xcom_comms: InMemorySupervisorComms) -> DagRunner:
    """Run a whole DAG in memory, as ``dag.test()`` would: ``result = run_dag(dag, conf=...)``.

    Tasks run in dependency order through Airflow's task runner; trigger rules, branching skips,
    upstream_failed, retries, dynamic task mapping and setup/teardown are applied as the scheduler
    applies them. Keyword arguments: ``logical_date``, ``run_after``, ``run_id``, ``conf``,
    ``variables``, ``connections``, ``dags`` (other DAGs: the runs this one triggers or whose assets it
    updates are run after it, recursively), ``asset_events`` ({asset or URI: [extra, ...]}: earlier
    events) and ``hitl_responses`` ({task_id: {"chosen_options": [...], "params_input": {...}}}: a
    person's answers to HITL tasks). Returns ``.state``, ``.task_states`` ({(task_id, map_index):
    state}), ``.xcoms`` ({(task_id, map_index, key): value}), ``.triggered_runs``, ``.asset_events``
    and ``result["task_id"]`` per task; XComs land in ``xcom_store``.
    """
    from pytest_xcom.runner import DagRunner

    return DagRunner(xcom_store)


@pytest.fixture
def render_task(task_context: TaskContextFactory) -> TaskRenderer:
    """Render a task's template fields as Airflow does before ``execute``: ``render_task(op)["sql"]``.

    Accepts an operator or what calling a ``@task`` function returns. Returns {field: rendered value}
    (``.shown``: as the Rendered Template view shows it). XComs are pulled from ``xcom_store``; template
    files are found through the DAG's ``template_searchpath``; its ``user_defined_macros``/``_filters``,
    ``render_template_as_native_obj`` and ``template_undefined`` apply. Keyword arguments:
    ``logical_date``, ``run_after``, ``run_id``, ``conf``, ``params``, ``map_index``, ``try_number``,
    ``variables``, ``connections``. Shares the DAG run of ``task_context``.
    """
    from pytest_xcom.render import TaskRenderer

    return TaskRenderer(task_context)


@pytest.fixture
def airflow_config() -> Iterator[AirflowConfig]:
    """Set Airflow config for this test: ``airflow_config["core.dagbag_import_timeout"] = 5``.

    Keys are ``"section.key"``; values go into Airflow's own config objects, so every reader sees them,
    and are restored after the test. ``None`` falls back to Airflow's default. The marker
    ``@pytest.mark.airflow_config({"section.key": value})`` does the same for a whole test.
    """
    from pytest_xcom.config import overridden

    with overridden({}) as config:
        yield config


@pytest.fixture(autouse=True)
def _xcom_airflow_config_marker(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Apply a test's ``airflow_config`` markers (the closest wins) for the test; restore afterwards."""
    markers = list(request.node.iter_markers("airflow_config"))
    if not markers:
        yield
        return
    from pytest_xcom.config import marker_values, overridden

    with overridden(marker_values(markers)) as config:
        yield config


@pytest.fixture
def dag_folder(pytestconfig: pytest.Config) -> DagFolder:
    """The DAG folder of the ini option ``xcom_dags`` (or ``--xcom-dags``), parsed as the DAG processor does.

    ``.dags`` ({dag_id: DAG}), ``.import_errors`` ({file relative to the folder: message}),
    ``.dag_files`` ({dag_id: file}) and ``.parse_time_access``. Parsed once per session (or xdist
    worker) and shared by every test, like the collected DAG checks: do not change the DAGs.
    """
    folders = dag_items.configured_folders(pytestconfig)
    if not folders:
        pytest.fail("dag_folder needs a DAG folder: set the ini option xcom_dags = <folder> (or --xcom-dags)")
    return dag_items.dag_folder(pytestconfig, folders[0])


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    dag_items.collect(session, items)


def _failure_hints(item: pytest.Item, call: pytest.CallInfo[Any]) -> list[str]:
    hints: list[str] = []
    store = getattr(item, "funcargs", {}).get("xcom_store")
    if store is not None and store.misses:
        hints.extend(dict.fromkeys(store.misses))  # each distinct miss once, in order
    if call.excinfo is not None and "provide_context" in str(call.excinfo.value):
        from pytest_xcom._msgs import PROVIDE_CONTEXT

        hints.append(PROVIDE_CONTEXT)
    if store is not None and store.results():
        from pytest_xcom.logs import failure_report

        hints.append(failure_report(store.results()))
    return hints


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    if report.failed and call.when == "call":
        hints = _failure_hints(item, call)
        if hints:
            report.sections.append(("pytest_xcom", "\n".join(hints)))
    return report


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: Any, right: Any) -> list[str] | None:
    from pytest_xcom.assertrepr import explain  # a run's task states and XComs, key by key

    return explain(op, left, right, verbose=config.get_verbosity())


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    from pytest_xcom._msgs import provide_context_hint

    report = yield
    hint = provide_context_hint(str(report.longrepr)) if report.failed else None
    if hint is not None:  # a module that builds a DAG at import fails before any test has run
        report.sections.append(("pytest_xcom", hint))
    return report
