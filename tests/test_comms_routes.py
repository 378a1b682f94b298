"""The short way to a request's route (parts httpx leaves as written) agrees with building the request."""

from __future__ import annotations

import itertools

import pytest

from pytest_xcom import comms

PLAIN = [
    "plain_key",
    "slice",
    "item",
    "0",
    "a.b",
    "..a",
    "a..",
    "manual__2024-01-01T00:00:00+00:00",
    "A~b:c+d@e!f$g&h'i(j)k*l,m;n=o-p",
]
ROUTES = [("", "GET"), ("", "POST"), ("", "DELETE"), ("", "HEAD"), ("/slice", "GET"), ("/item/3", "GET")]


@pytest.mark.parametrize(("suffix", "method"), ROUTES)
def test_plain_parts_reach_the_route_the_built_request_reaches(suffix, method):
    for dag_id, run_id, task_id, key in itertools.product(PLAIN[:3], PLAIN[6:8], PLAIN[:2], PLAIN):
        args = (dag_id, run_id, task_id, key, suffix, method)
        assert comms.served_xcom_path(*args) == comms._served_xcom_path_via_url(*args), args


@pytest.mark.parametrize("part", [".", "..", "a b", "a?b", "a%2Fb", "a/b", "é", "", "a#b"])
def test_other_parts_take_the_built_request(part):
    args = ("dag", "run", "task", part, "", "GET")
    assert comms.served_xcom_path(*args) == comms._served_xcom_path_via_url(*args)
