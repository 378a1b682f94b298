"""The in-memory XCom store: seeding, reading back, assertions and their messages, runs and map indexes."""

from __future__ import annotations

import re

import pytest

from pytest_xcom import XComRecord, XComStore, _compat


def test_seed_then_get_returns_what_a_downstream_task_receives(xcom_store):
    xcom_store.seed("extract", {"ids": (1, 2)})

    assert xcom_store.get("extract") == {"ids": (1, 2)}
    assert xcom_store.get("extract", key="other") is None
    assert xcom_store.get("extract", key="other", default="D") == "D"
    assert xcom_store.get("transform", default="D") == "D"


def test_seed_refuses_what_a_push_refuses(xcom_store):
    with pytest.raises(TypeError) as serde_refusal:  # serde's own words, which differ between versions
        _compat.serialize(b"raw")
    with pytest.raises(TypeError, match=re.escape(str(serde_refusal.value))):
        xcom_store.seed("extract", b"raw")

    assert len(xcom_store) == 0


def test_a_task_pulls_what_was_seeded(xcom_store, task_context):
    xcom_store.seed("extract", [1, 2, 3])
    xcom_store.seed("extract", "eu", key="region")
    ti = task_context("transform")["ti"]

    assert ti.xcom_pull(task_ids="extract") == [1, 2, 3]
    assert ti.xcom_pull(task_ids="extract", key="region") == "eu"


def test_seeds_made_before_the_first_context_join_the_tests_run(xcom_store, task_context):
    xcom_store.seed("extract", 1)
    ctx = task_context("transform")

    [record] = xcom_store.records()
    assert (record.dag_id, record.run_id) == (ctx["dag"].dag_id, ctx["run_id"])
    assert xcom_store.current_run == (ctx["dag"].dag_id, ctx["run_id"])


def test_assert_pushed_passes_for_an_equal_value_of_the_same_type(xcom_store):
    xcom_store.seed("extract", (1, "a"), key="pair")

    xcom_store.assert_pushed("extract", "pair")
    xcom_store.assert_pushed("extract", "pair", (1, "a"))


def test_assert_pushed_says_expected_got_and_what_was_pushed(xcom_store):
    xcom_store.seed("extract", 41, key="count")
    xcom_store.seed("extract", "eu", key="region")
    xcom_store.seed("other", "not listed")

    with pytest.raises(AssertionError) as failure:
        xcom_store.assert_pushed("extract", "count", 42)

    assert str(failure.value) == (
        "XCom 'count' from 'extract': expected 42, got 41\n'extract' pushed:\n  count = 41\n  region = 'eu'"
    )


def test_assert_pushed_compares_types_too(xcom_store):
    xcom_store.seed("extract", 1)

    with pytest.raises(AssertionError, match=r"expected 1\.0, got 1"):
        xcom_store.assert_pushed("extract", value=1.0)
    with pytest.raises(AssertionError, match="expected True, got 1"):
        xcom_store.assert_pushed("extract", value=True)


def test_assert_pushed_compares_what_the_value_became(xcom_store):
    # A namedtuple arrives downstream as a plain tuple, so that is what the assertion sees.
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")
    xcom_store.seed("extract", Pair(1, 2))

    xcom_store.assert_pushed("extract", value=(1, 2))
    with pytest.raises(AssertionError, match=r"expected Pair\(a=1, b=2\), got \(1, 2\)"):
        xcom_store.assert_pushed("extract", value=Pair(1, 2))


def test_assert_pushed_of_a_missing_key_explains_the_miss(xcom_store):
    xcom_store.seed("extract", 1, key="row_count")

    with pytest.raises(AssertionError, match=r"^no XCom 'row_count' from 'extrakt'.*did you mean 'extract'"):
        xcom_store.assert_pushed("extrakt", "row_count")
    with pytest.raises(AssertionError, match=r"it pushed: 'row_count' \(did you mean 'row_count'\?\)"):
        xcom_store.assert_pushed("extract", "rowcount", 1)


def test_assert_not_pushed(xcom_store):
    xcom_store.seed("extract", [1], key="rows")

    xcom_store.assert_not_pushed("extract")
    xcom_store.assert_not_pushed("extract", "row")
    xcom_store.assert_not_pushed("load", "rows")
    with pytest.raises(AssertionError, match=r"expected no XCom 'rows' from 'extract', but it pushed \[1\]"):
        xcom_store.assert_not_pushed("extract", "rows")


def test_assertion_helpers_hide_their_frames(pytester):
    pytester.makepyfile(
        """
        def test_missing(xcom_store):
            xcom_store.assert_pushed("extract", "rows")
        """
    )

    result = pytester.runpytest("-p", "pytest_xcom", "-p", "no:randomly")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*xcom_store.assert_pushed(*", "E*AssertionError: no XCom 'rows' from 'extract'*"]
    )
    result.stdout.no_fnmatch_line("*def assert_pushed(*")


def test_records_and_iteration_list_every_xcom_in_push_order(xcom_store, task_context):
    xcom_store.seed("b", 2)
    xcom_store.seed("a", 1, key="k")
    xcom_store.seed("c", 3, map_index=0)
    ctx = task_context("d")
    ctx["ti"].xcom_push("pushed", {"x": 1})
    run = (ctx["dag"].dag_id, ctx["run_id"])

    expected = [
        XComRecord(*run, "b", -1, "return_value", 2),
        XComRecord(*run, "a", -1, "k", 1),
        XComRecord(*run, "c", 0, "return_value", 3),
        XComRecord(*run, "d", -1, "pushed", {"x": 1}),
    ]
    assert xcom_store.records() == expected
    assert list(xcom_store) == expected
    assert len(xcom_store) == 4
    assert "a" in xcom_store and "z" not in xcom_store
    assert xcom_store.pushed("a") == {"k": 1}
    assert xcom_store.pushed("c") == {}  # mapped pushes are listed by records(), not pushed()


def test_records_can_be_narrowed_to_one_dag_or_run(xcom_store):
    xcom_store.seed("t", 1, dag_id="dag_a", run_id="r1")
    xcom_store.seed("t", 2, dag_id="dag_a", run_id="r2")
    xcom_store.seed("t", 3, dag_id="dag_b", run_id="r1")

    assert [r.value for r in xcom_store.records(dag_id="dag_a")] == [1, 2]
    assert [r.value for r in xcom_store.records(run_id="r1")] == [1, 3]
    assert [r.value for r in xcom_store.records(dag_id="dag_b", run_id="r2")] == []
    assert xcom_store.get("t", dag_id="dag_a", run_id="r2") == 2


def test_pushing_a_key_again_overwrites_it(xcom_store, task_context):
    ti = task_context("t")["ti"]
    ti.xcom_push("k", 1)
    xcom_store.seed("t", "other", key="other")
    ti.xcom_push("k", 2)

    xcom_store.assert_pushed("t", "k", 2)
    # One row per identity, and the rewritten row is the newest, as the DB's timestamp would say.
    assert [(r.key, r.value) for r in xcom_store] == [("other", "other"), ("k", 2)]


def test_clear_forgets_xcoms_and_misses(xcom_store, task_context):
    ti = task_context("t")["ti"]
    ti.xcom_push("k", 1)
    ti.xcom_pull(task_ids="t", key="missing")
    assert xcom_store.misses

    xcom_store.clear()

    assert len(xcom_store) == 0 and list(xcom_store) == [] and xcom_store.misses == []
    # The run stays known: new pushes still belong to it.
    ti.xcom_push("k", 2)
    assert ti.xcom_pull(task_ids="t", key="k") == 2


def test_explain_miss(xcom_store):
    assert xcom_store.explain_miss("extract") == (
        "no XCom 'return_value' from 'extract'; nothing was pushed in this run "
        "(seed upstream values with xcom_store.seed(...))"
    )
    xcom_store.seed("extract", 1, key="row_count")
    xcom_store.seed("load", 1)

    assert xcom_store.explain_miss("extract", key="rowcount") == (
        "no XCom 'rowcount' from 'extract'; it pushed: 'row_count' (did you mean 'row_count'?)"
    )
    assert xcom_store.explain_miss("extrct", key="row_count") == (
        "no XCom 'row_count' from 'extrct'; 'extrct' pushed nothing in this run. "
        "Tasks that pushed: 'extract', 'load' (did you mean 'extract'?)"
    )
    assert (
        xcom_store.explain_miss("extract", key="zzz")
        == "no XCom 'zzz' from 'extract'; it pushed: 'row_count'"
    )


def test_explain_miss_names_the_map_indexes_there_are(xcom_store):
    for i in (0, 2):
        xcom_store.seed("mapped", i, map_index=i)

    assert (
        xcom_store.explain_miss("mapped")
        == "no XCom 'return_value' from 'mapped'; it pushed 'return_value' at map_index 0, 2"
    )
    assert xcom_store.explain_miss("mapped", map_index=1).startswith(
        "no XCom 'return_value' from 'mapped' at map_index 1;"
    )


def test_map_indexes_are_separate_xcoms(xcom_store, task_context):
    for i in (2, 0, 1):
        xcom_store.seed("fetch", f"part-{i}", map_index=i)
    ti = task_context("combine")["ti"]

    assert xcom_store.get("fetch", map_index=1) == "part-1"
    assert xcom_store.get("fetch") is None  # the unmapped row (-1) was never pushed
    # An unmapped task pulling a mapped one gets every map index, in map-index order.
    assert list(ti.xcom_pull(task_ids="fetch")) == ["part-0", "part-1", "part-2"]
    assert ti.xcom_pull(task_ids="fetch", map_indexes=2) == "part-2"
    assert ti.xcom_pull(task_ids="fetch", map_indexes=[2, 0]) == ["part-2", "part-0"]


def test_a_mapped_task_instance_pushes_under_its_map_index(xcom_store, task_context):
    task_context("fetch", map_index=3)["ti"].xcom_push("page", "p3")

    xcom_store.assert_pushed("fetch", "page", "p3", map_index=3)
    xcom_store.assert_not_pushed("fetch", "page")


def test_include_prior_dates_reads_the_newest_earlier_run(xcom_store, task_context):
    # Runs are created out of date order, so ordering cannot come from creation order.
    for day, value in [("2024-01-03", "jan-3"), ("2024-01-01", "jan-1"), ("2024-01-05", "jan-5")]:
        task_context("snapshot", logical_date=day, run_id=f"run_{day}")["ti"].xcom_push("state", value)

    def pull_on(day: str, **kwargs):
        ti = task_context("compare", logical_date=day, run_id=f"run_{day}")["ti"]
        return ti.xcom_pull(task_ids="snapshot", key="state", map_indexes=-1, **kwargs)

    assert pull_on("2024-01-04") is None  # that run has no snapshot of its own
    assert pull_on("2024-01-04", include_prior_dates=True) == "jan-3"
    assert pull_on("2024-01-02", include_prior_dates=True) == "jan-1"
    assert pull_on("2023-12-31", include_prior_dates=True) is None  # later runs are never visible
    assert pull_on("2024-01-05", include_prior_dates=True) == "jan-5"  # its own run is the newest


def test_include_prior_dates_without_map_indexes_returns_every_visible_run(task_context):
    # Airflow reads all map indexes of all visible runs here, so the pull is a list, not the newest value.
    for day, value in [("2024-01-01", 1), ("2024-01-02", 2), ("2024-01-04", 4)]:
        task_context("snapshot", logical_date=day, run_id=f"run_{day}")["ti"].xcom_push("state", value)
    ti = task_context("compare", logical_date="2024-01-03", run_id="run_2024-01-03")["ti"]

    assert sorted(ti.xcom_pull(task_ids="snapshot", key="state", include_prior_dates=True)) == [1, 2]
    assert ti.xcom_pull(task_ids="snapshot", key="state") is None


def test_each_test_gets_a_fresh_store(xcom_store):
    # Seeds from any other test never leak in (this holds whichever order the tests run in).
    assert len(xcom_store) == 0 and xcom_store.current_run is None
    assert isinstance(xcom_store, XComStore)


def test_an_item_by_offset_is_the_one_the_whole_list_has_there():
    store = XComStore()
    xcom = ("d", "r", "mapped", "return_value")

    def items() -> list[str | None]:
        return [store.find_json_item(*xcom, offset) for offset in range(-5, 5)]

    def expected() -> list[str | None]:
        rows = store.find_all_json(*xcom)
        return [rows[offset] if -len(rows) <= offset < len(rows) else None for offset in range(-5, 5)]

    assert items() == [None] * 10
    for map_index in (2, 0, 3):  # written out of order, as instances finish
        store.put_json("d", "r", "mapped", map_index, "return_value", str(map_index))
        store.put_json("d", "other", "mapped", map_index, "return_value", "99")
        assert items() == expected()
    assert store.find_json_item(*xcom, 1) == "2"
    store.put_json("d", "r", "mapped", 1, "return_value", "1")
    store.delete("d", "r", "mapped", 0, "return_value")
    assert items() == expected()
    assert [store.find_json_item(*xcom, i) for i in range(3)] == ["1", "2", "3"]
    store.clear()
    assert items() == [None] * 10
