"""Operators that run their callable in a second Python process, as a worker runs them.

ExternalPythonOperator, PythonVirtualenvOperator, their branch variants and ``@task.external_python`` /
``@task.virtualenv`` start a child whose script reconnects to the supervisor over the socket named in
``__AIRFLOW_SUPERVISOR_FD`` and reads Variables and XComs through it. run_task and run_dag serve the
in-memory API over a real socket pair for them, as a worker's supervisor does. The differential tests
compare whole DAGs of them with Airflow's dag.test(), whose children cannot send requests (see
tests/dags_subprocess/python_children.py): what a child reads and writes is checked here.

The virtualenvs install nothing (no network): see tests/dags_subprocess/virtualenv.py.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from airflow.exceptions import AirflowException
from airflow.providers.standard.operators.python import (
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonOperator,
    PythonVirtualenvOperator,
)
from airflow.sdk import DAG, task
from dagfiles import load_dags

import pytest_xcom
from pytest_xcom import _compat
from pytest_xcom.supervisor import FD_VARIABLE, SupervisorSockets, child_sockets, spawns_python_child

DAGS = Path(__file__).parent / "dags_subprocess"
LOGICAL_DATE = datetime(2024, 1, 1, tzinfo=UTC)
CHILDREN = DAGS / "python_children.py"
VENV = load_dags(CHILDREN)["children_virtualenv"].task_dict["classic"]
# The DAG file's virtualenv settings: nothing to install, Airflow importable, cached across runs.
VENV_KWARGS = {
    "python_version": VENV.python_version,
    "system_site_packages": VENV.system_site_packages,
    "venv_cache_path": VENV.venv_cache_path,
    "env_vars": VENV.env_vars,
}
needs_reconnect = pytest.mark.skipif(
    not hasattr(_compat.task_runner, "reinit_supervisor_comms"),
    reason="this task SDK's child script does not reconnect to the supervisor",
)


@pytest.fixture(autouse=True)
def _no_uv(monkeypatch):
    # Without uv Airflow builds the venv with `python -m venv`, which needs no network; with uv it would.
    monkeypatch.setenv("AIRFLOW__STANDARD__VENV_INSTALL_METHOD", "pip")


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


# The child gets only the callable's source: everything it uses is imported and named inside.
def pull_push_and_read(run_id):
    from airflow.sdk import Variable
    from airflow.sdk.bases.xcom import BaseXCom  # where 3.0 and 3.1 have it (airflow.sdk too from 3.2)

    pulled = BaseXCom.get_one(key="return_value", dag_id="sub", task_id="upstream", run_id=run_id)
    BaseXCom.set("extra", {"pulled": pulled}, dag_id="sub", task_id="child", run_id=run_id)
    Variable.set("written", "by the child")
    return {"color": Variable.get("color"), "pulled": pulled}


def choose_by_variable():
    from airflow.sdk import Variable

    return "left" if Variable.get("color") == "red" else "right"


def explode():
    raise ValueError("the child failed")


def _in_a_dag(make_child):
    with DAG("sub", schedule=None):
        child = make_child()
        left = PythonOperator(task_id="left", python_callable=lambda: "left ran")
        right = PythonOperator(task_id="right", python_callable=lambda: "right ran")
        child >> [left, right]
    return child


# -- run_task --------------------------------------------------------------------------------------------

OPERATORS = {
    "ExternalPythonOperator": lambda **kw: ExternalPythonOperator(python=sys.executable, **kw),
    "PythonVirtualenvOperator": lambda **kw: PythonVirtualenvOperator(**VENV_KWARGS, **kw),
}
BRANCH_OPERATORS = {
    "BranchExternalPythonOperator": lambda **kw: BranchExternalPythonOperator(python=sys.executable, **kw),
    "BranchPythonVirtualenvOperator": lambda **kw: BranchPythonVirtualenvOperator(**VENV_KWARGS, **kw),
}


@needs_reconnect
@pytest.mark.parametrize("make", OPERATORS.values(), ids=OPERATORS.keys())
def test_the_child_reads_variables_pulls_and_pushes_through_the_socket(
    make, run_task, xcom_store, xcom_comms
):
    child = _in_a_dag(lambda: make(task_id="child", python_callable=pull_push_and_read))
    xcom_store.seed("upstream", {"n": [1, 2]})
    fds, threads = _open_fds(), set(threading.enumerate())

    result = run_task(child, variables={"color": "red"})

    assert result.state == "success", result.error
    assert result.return_value == {"color": "red", "pulled": {"n": [1, 2]}}
    assert result.xcoms["extra"] == {"pulled": {"n": [1, 2]}}
    assert xcom_comms.variables["written"] == "by the child"
    assert _open_fds() == fds and set(threading.enumerate()) == threads
    assert FD_VARIABLE not in os.environ


@needs_reconnect
@pytest.mark.parametrize("make", BRANCH_OPERATORS.values(), ids=BRANCH_OPERATORS.keys())
def test_a_branch_chosen_in_the_child_skips_the_other_branch(make, run_dag):
    child = _in_a_dag(lambda: make(task_id="child", python_callable=choose_by_variable))

    result = run_dag(child.dag, variables={"color": "red"}, logical_date=LOGICAL_DATE)

    assert result.task_states == {("child", -1): "success", ("left", -1): "success", ("right", -1): "skipped"}
    assert result.xcoms[("child", -1, "skipmixin_key")] == {"followed": ["left"]}


@pytest.mark.parametrize("make", OPERATORS.values(), ids=OPERATORS.keys())
def test_a_failure_in_the_child_fails_the_task_with_its_message(make, run_task):
    child = _in_a_dag(lambda: make(task_id="child", python_callable=explode))

    result = run_task(child, logical_date=LOGICAL_DATE)

    assert result.state == "failed"
    assert isinstance(result.error, AirflowException)
    assert "the child failed" in str(result.error)


def _decorated_dag():
    with DAG("deco", schedule=None) as dag:

        @task
        def numbers():
            return [1, 2, 3]

        @task.external_python(python=sys.executable)
        def total(values):
            from airflow.sdk import Variable

            return sum(values) * int(Variable.get("factor"))

        @task.virtualenv(**VENV_KWARGS)
        def describe(value):
            from airflow.sdk import Variable

            Variable.set("described", "yes")
            return f"total={value}"

        describe(total(numbers()))
    return dag


@needs_reconnect
def test_the_decorators_run_in_run_dag(run_dag, xcom_comms):
    result = run_dag(_decorated_dag(), variables={"factor": "10"}, logical_date=LOGICAL_DATE)

    assert result.state == "success", {k: t.error for k, t in result.tasks.items()}
    assert result.xcoms[("total", -1, "return_value")] == 60
    assert result.xcoms[("describe", -1, "return_value")] == "total=60"
    assert xcom_comms.variables["described"] == "yes"


@needs_reconnect
def test_the_decorators_run_in_run_task(run_task, xcom_store, xcom_comms):
    dag = _decorated_dag()
    xcom_store.seed("numbers", [4, 5])
    total = run_task(dag.task_dict["total"], variables={"factor": "2"})
    described = run_task(dag.task_dict["describe"])

    assert (total.state, total.return_value) == ("success", 18)
    assert (described.state, described.return_value) == ("success", "total=18")
    assert xcom_comms.variables["described"] == "yes"


@needs_reconnect
def test_a_connection_is_read_in_the_child(run_task):
    with DAG("conn", schedule=None):

        @task.external_python(python=sys.executable)
        def where():
            from airflow.sdk import Connection

            conn = Connection.get("warehouse")
            return {"host": conn.host, "port": conn.port, "schema": conn.schema}

        called = where()

    result = run_task(called, connections={"warehouse": "postgresql://user:secret@db.example:5432/sales"})

    assert (result.state, result.return_value) == (
        "success",
        {"host": "db.example", "port": 5432, "schema": "sales"},
    )


@needs_reconnect
def test_each_mapped_instance_gets_its_own_socket(run_dag):
    with DAG("mapped", schedule=None) as dag:

        @task.external_python(python=sys.executable)
        def scaled(value):
            from airflow.sdk import Variable

            return value * int(Variable.get("factor"))

        scaled.expand(value=[1, 2])

    result = run_dag(dag, variables={"factor": "3"}, logical_date=LOGICAL_DATE)

    assert result.task_states == {("scaled", 0): "success", ("scaled", 1): "success"}
    assert [result.xcoms[("scaled", i, "return_value")] for i in (0, 1)] == [3, 6]


# -- which tasks get a socket, and its lifetime ---------------------------------------------------------


def test_only_operators_that_start_a_python_child_get_a_socket(run_task):
    with DAG("which", schedule=None):
        plain = PythonOperator(task_id="plain", python_callable=lambda: os.environ.get(FD_VARIABLE))
        external = ExternalPythonOperator(task_id="external", python=sys.executable, python_callable=explode)
        mapped = ExternalPythonOperator.partial(
            task_id="mapped", python=sys.executable, python_callable=explode
        ).expand(op_args=[[1]])

    assert not spawns_python_child(plain)
    assert spawns_python_child(external) == hasattr(_compat.task_runner, "reinit_supervisor_comms")
    assert spawns_python_child(mapped) == spawns_python_child(external)
    assert run_task(plain).return_value is None


def _serve_variables(request):
    # A server half answering every request with a variable, as the in-memory API server would.
    m = _compat.comms_messages
    return _compat.response_frame(request.id, body=m.VariableResult(key="k", value="v").model_dump())


def _client(sockets: SupervisorSockets):
    return _compat.CommsDecoder(socket=socket.socket(fileno=os.dup(sockets.child_end.fileno())))


def test_requests_are_answered_and_the_child_logs_reach_the_task_logger():
    import structlog
    from freezegun import freeze_time

    m = _compat.comms_messages
    fds, threads = _open_fds(), set(threading.enumerate())
    # The child's clock is not frozen, the test's may be: its timestamps must not stop the thread.
    with freeze_time("2024-06-01"), structlog.testing.capture_logs() as logs:
        with SupervisorSockets(_serve_variables, structlog.get_logger(logger_name="task")) as sockets:
            assert os.environ[FD_VARIABLE] == str(sockets.child_end.fileno())
            client = _client(sockets)
            try:
                assert client.send(m.GetVariable(key="k")).value == "v"
                sent = client.send(m.ResendLoggingFD())
                with os.fdopen(sent.fds[0], "wb", buffering=0) as log_io:
                    log_io.write(b'{"event": "from the child", "level": "warning", "n": 3,')
                    log_io.write(b' "timestamp": "2026-01-02T03:04:05.000006Z"}\nnot json\n')
                    log_io.write(b'{"event": "last words", "level": "info"}')
                assert client.send(m.GetVariable(key="k")).value == "v"
            finally:
                client.socket.close()

    assert not sockets.serving and sockets.error is None
    assert [(e["event"], e["log_level"], e.get("n")) for e in logs] == [
        ("from the child", "warning", 3),
        ("last words", "info", None),
    ]
    assert FD_VARIABLE not in os.environ
    assert _open_fds() == fds and set(threading.enumerate()) == threads


def test_a_failing_server_closes_the_socket_instead_of_leaving_the_child_waiting():
    def broken(request):
        raise RuntimeError("server half broke")

    import structlog

    with structlog.testing.capture_logs(), SupervisorSockets(broken, structlog.get_logger()) as sockets:
        client = _client(sockets)
        try:
            with pytest.raises(EOFError):
                client.send(_compat.comms_messages.GetVariable(key="k"))
        finally:
            client.socket.close()
    assert isinstance(sockets.error, RuntimeError)


@needs_reconnect
def test_an_interrupted_task_leaves_no_socket_thread_or_variable_behind(xcom_comms):
    with DAG("interrupted", schedule=None):
        external = ExternalPythonOperator(task_id="external", python=sys.executable, python_callable=explode)
    fds, threads = _open_fds(), set(threading.enumerate())

    with pytest.raises(KeyboardInterrupt), child_sockets(external) as sockets:
        assert sockets is not None and sockets.serving
        raise KeyboardInterrupt

    assert not sockets.serving
    assert FD_VARIABLE not in os.environ
    assert _open_fds() == fds and set(threading.enumerate()) == threads


# -- the same DAGs through dag.test() ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("dag_id", ["children_external_python", "children_virtualenv"])
def test_run_dag_gives_what_dag_test_gives(dag_id):
    from pytest_xcom._dagtest import run_dag_test

    real = run_dag_test(
        CHILDREN, dag_id, logical_date=LOGICAL_DATE, env={"AIRFLOW__STANDARD__VENV_INSTALL_METHOD": "pip"}
    )
    ours = pytest_xcom.run_dag(load_dags(CHILDREN)[dag_id], logical_date=LOGICAL_DATE)

    assert ours.task_states == real.task_states
    assert ours.state == real.state
    assert ours.xcoms == real.xcoms
