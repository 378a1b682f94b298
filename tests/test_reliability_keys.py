"""XCom keys are stored as a real worker's request stores them: the key travels in the URL path.

The expectations are not a table: each key is sent by Airflow's own API client (with a transport that
captures the request instead of sending it), decoded as the API server's HTTP server decodes a path, and
matched against the execution API's own XCom routes.
"""

from __future__ import annotations

import warnings
from urllib.parse import unquote

import httpx
import pytest
from airflow.sdk.exceptions import AirflowRuntimeError

KEYS = [
    "plain_key",
    "a?b",
    "a#b",
    "a%2Fb",
    "a/b",
    "a b",
    "é☃",
    "a%zz",
    "100%",
    "a+b;c",
    "%3F",
    "./k",
    "k/.",
    "../other/k",
    "../../x",
    ".",
]


def _real_worker_request(method: str, call) -> tuple[str, tuple] | None:
    """(route path, (dag_id, run_id, task_id, key)) that Airflow's API client reaches; None on a 404.

    ``call(client)`` makes one request with Airflow's own client; its transport captures the request.
    """
    from airflow.sdk.api.client import Client

    with warnings.catch_warnings():
        # FastAPI's test client, imported along the way, warns about the httpx it uses.
        warnings.simplefilter("ignore")
        from airflow.api_fastapi.execution_api.routes.xcoms import router
    from starlette.routing import Match

    sent: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=[])

    client = Client(
        base_url="http://localhost:8080/execution/", token="t", transport=httpx.MockTransport(capture)
    )
    call(client)
    (request,) = sent
    assert request.method == method
    # uvicorn: the ASGI path is the raw path before '?', percent-decoded.
    path = unquote(request.url.raw_path.partition(b"?")[0].decode("ascii"))
    if not path.startswith("/execution/xcoms/"):
        return None  # '..' climbed out of the XCom routes
    # The execution API is mounted at /execution and includes the XCom router at /xcoms.
    scope = {"type": "http", "method": method, "path": path.removeprefix("/execution/xcoms"), "root_path": ""}
    for route in router.routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            params = child["path_params"]
            if not params["key"]:
                return None  # the route's key has min_length=1
            return route.path, (params["dag_id"], params["run_id"], params["task_id"], params["key"])
    return None


@pytest.mark.parametrize("key", KEYS)
def test_a_pushed_key_is_stored_as_a_real_worker_stores_it(task_context, xcom_store, key):
    ti = task_context("pusher")["ti"]
    ids = (ti.dag_id, ti.run_id, ti.task_id)
    push = _real_worker_request("POST", lambda client: client.xcoms.set(*ids, key, 1, -1))
    if push is None:
        with pytest.raises(AirflowRuntimeError, match="API_SERVER_ERROR"):
            ti.xcom_push(key, "value")
        assert len(xcom_store) == 0
        return
    ti.xcom_push(key, "value")
    stored = [(r.dag_id, r.run_id, r.task_id, r.key) for r in xcom_store.records()]
    assert stored == [push[1]]
    # A pull (its /slice request) finds the row when it reaches the slice route and the same XCom.
    pull = _real_worker_request(
        "GET", lambda client: client.xcoms.get_sequence_slice(*ids, key, None, None, None)
    )
    if pull is not None and pull[0].endswith("/slice") and pull[1] == push[1]:
        assert ti.xcom_pull(task_ids=ti.task_id, key=key) == "value"
    elif pull is not None and pull[0].endswith("/slice"):
        assert ti.xcom_pull(task_ids=ti.task_id, key=key) is None
    else:
        with pytest.raises(AirflowRuntimeError, match="API_SERVER_ERROR"):
            ti.xcom_pull(task_ids=ti.task_id, key=key)


def test_a_rewritten_key_is_explained_when_the_test_fails(task_context, xcom_store):
    ti = task_context("pusher")["ti"]
    ti.xcom_push("report?date=2024", 3)
    with pytest.raises(AssertionError, match="it pushed: 'report'"):
        xcom_store.assert_pushed("pusher", "report?date=2024")
    assert any("stored by Airflow as key 'report'" in note for note in xcom_store.misses)


def test_a_rewritten_key_note_reaches_the_failure_report(pytester):
    pytester.makepyfile(
        """
        def test_push(task_context, xcom_store):
            task_context("pusher")["ti"].xcom_push("a?b", 1)
            xcom_store.assert_pushed("pusher", "a?b", 1)
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly", timeout=300)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XCom key 'a?b' (task 'pusher') is stored by Airflow as key 'a'*"])
