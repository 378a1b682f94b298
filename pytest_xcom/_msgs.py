"""User-facing wording, kept in one place so that messages stay consistent and reviewable."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import timedelta


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def xcom_miss(
    task_id: str,
    key: str,
    map_index: int,
    *,
    keys_of_task: list[tuple[str, int]],
    tasks_that_pushed: list[str],
) -> str:
    """Why a pull of (task_id, key, map_index) finds nothing, and what there is instead."""
    where = f" at map_index {map_index}" if map_index != -1 else ""
    head = f"no XCom {key!r} from {task_id!r}{where}"
    if keys_of_task:
        pushed = _quoted(sorted({k for k, _ in keys_of_task}))
        same_key = sorted(mi for k, mi in keys_of_task if k == key)
        if same_key:
            return f"{head}; it pushed {key!r} at map_index {', '.join(map(str, same_key))}"
        return f"{head}; it pushed: {pushed}{did_you_mean(key, (k for k, _ in keys_of_task))}"
    if tasks_that_pushed:
        return (
            f"{head}; {task_id!r} pushed nothing in this run. Tasks that pushed: "
            f"{_quoted(tasks_that_pushed)}{did_you_mean(task_id, tasks_that_pushed)}"
        )
    return f"{head}; nothing was pushed in this run (seed upstream values with xcom_store.seed(...))"


def value_mismatch(task_id: str, key: str, expected: object, actual: object, pushed: str) -> str:
    return f"XCom {key!r} from {task_id!r}: expected {expected!r}, got {actual!r}\n{pushed}"


def pushed_summary(task_id: str, pushed: dict[tuple[str, int], object]) -> str:
    if not pushed:
        return f"{task_id!r} pushed nothing"
    lines = [f"{task_id!r} pushed:"]
    for (key, map_index), value in pushed.items():
        where = f"[{map_index}]" if map_index != -1 else ""
        lines.append(f"  {key}{where} = {value!r}")
    return "\n".join(lines)


TI_CONTEXT = (
    "RuntimeTaskInstance has no attribute 'context': in Airflow 3 a task instance does not carry the "
    "template context. Read the context your callable receives (`def task(**context): context['ds']`, "
    "or `get_current_context()`), and pass data between tasks with ti.xcom_push / ti.xcom_pull."
)

TI_PARAMS = (
    "RuntimeTaskInstance has no attribute 'params': read params from the context your callable "
    "receives (`context['params']`), or the task's declared params from `ti.task.params`."
)

PROVIDE_CONTEXT = (
    "`provide_context=True` was removed in Airflow 2: operators no longer accept it. Drop the argument; "
    "PythonOperator passes the context to any `**kwargs` (or named context arguments such as `ti`, "
    "`ds`, `params`) of your callable."
)

STANDIN_PARAMS_WITH_TASK = (
    "task_context(params=...) sets the params of a stand-in task, but you passed a real task that "
    "declares its own. Declare the params on the task or DAG, and pass conf={{...}} to override "
    "them as a triggered run would. (task: {task_id!r})"
)


def duplicate_run_id(dag_id: str, run_id: str, first: object, second: object) -> str:
    return (
        f"DAG {dag_id!r} already has a run with run_id {run_id!r} (dated {first}); a second run dated "
        f"{second} would get the same run_id, which Airflow refuses. A manual run_id is made from "
        "run_after, which defaults to now: with a frozen clock, pass run_after=... (or run_id=...) to "
        "tell the runs apart."
    )


def unknown_task(dag_id: str, task_id: str, task_ids: Iterable[str]) -> str:
    ids = sorted(task_ids)
    return f"DAG {dag_id!r} has no task {task_id!r}{did_you_mean(task_id, ids)}; its tasks: {_quoted(ids)}"


def unsupported_message(msg_type: str) -> str:
    return (
        f"pytest_xcom does not answer {msg_type} from a task yet; this call needs a real Airflow "
        "deployment (or dag.test()). Please report it if your task needs it."
    )


# -- DAG folder checks: each returns (cause, fix) ---------------------------------------------------------


def dag_folder_missing(path: str) -> str:
    return (
        f"DAG folder {path!r} does not exist or is not a directory. Pass the folder your DAG files live in "
        "(relative paths are read from where pytest runs; the ini option xcom_dags from the ini file's)."
    )


def parse_time_access(call: str, source: str) -> tuple[str, str]:
    where = f" (`{source}`)" if source else ""
    return (
        f"{call} while the file is parsed{where}: the DAG processor runs this on every parse, every "
        "30 seconds or so, and a value read now is frozen into the DAG until the next parse",
        "read it inside the task, or use a template ({{ var.value.<key> }}, {{ conn.<conn_id> }}, "
        "{{ ti.xcom_pull(...) }}) in a templated field",
    )


def dag_parse_timeout(detail: str) -> tuple[str, str]:
    return (
        f"parsing the file took longer than [core] dagbag_import_timeout: {detail}",
        "move slow top-level work (API calls, queries, large imports, big loops) into tasks; or raise "
        "dagbag_import_timeout (pytest.mark.airflow_config({'core.dagbag_import_timeout': ...}))",
    )


def dag_cycle(detail: str) -> tuple[str, str]:
    return (
        f"the DAG's dependencies form a cycle: {detail}",
        "remove the dependency (>>, set_upstream, an XComArg) that closes the loop",
    )


def dag_duplicate(detail: str, other_file: str) -> tuple[str, str]:
    return (
        f"the same dag_id is defined in two files: {detail}",
        f"give one of the two DAGs another dag_id (the other is in {other_file}); the DAG processor keeps "
        "whichever file it parses first",
    )


def dag_import_error(message: str) -> tuple[str, str]:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else message
    return (
        f"the file does not import: {last}\n{message.rstrip()}",
        "fix the error at the line above; the DAG processor would show this file under Import Errors "
        "and load none of its DAGs",
    )


def dag_not_serializable(dag_id: str, detail: str) -> tuple[str, str]:
    return (
        f"DAG {dag_id!r} cannot be serialized for the scheduler: {detail}",
        "keep operator arguments, params and default_args to JSON-able values (str, numbers, lists, dicts, "
        "datetimes); build other objects inside the task",
    )


def dag_roundtrip_changed(dag_id: str, what: str, before: object, after: object) -> tuple[str, str]:
    return (
        f"DAG {dag_id!r} changes in the scheduler's serialization round trip: {what} is {before!r} "
        f"in the file but {after!r} after serialization",
        "the scheduler runs the serialized DAG: set this through a constructor argument Airflow "
        "serializes instead of changing the object after it is built",
    )


def rule_tags(dag_id: str) -> tuple[str, str]:
    return (f"DAG {dag_id!r} has no tags (rule 'tags')", "add tags=[...] to the DAG")


def rule_owner(dag_id: str, task_ids: list[str], default: str) -> tuple[str, str]:
    return (
        f"DAG {dag_id!r}: tasks {task_ids} have the default owner {default!r} (rule 'owner')",
        "set default_args={'owner': '<team>'} on the DAG, or owner= on each task",
    )


def rule_retries(dag_id: str, task_ids: list[str]) -> tuple[str, str]:
    return (
        f"DAG {dag_id!r}: tasks {task_ids} have no retries (rule 'retries')",
        "set default_args={'retries': 1} (or more) on the DAG, or retries= on each task",
    )


def rule_no_catchup(dag_id: str) -> tuple[str, str]:
    return (f"DAG {dag_id!r} has catchup on (rule 'no_catchup')", "pass catchup=False to the DAG")


def rule_description(dag_id: str) -> tuple[str, str]:
    return (
        f"DAG {dag_id!r} has neither description nor doc_md (rule 'description')",
        "pass description='...' (or doc_md) to the DAG",
    )


def unknown_dag_rule(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    return (
        f"xcom_dag_rules: unknown rule {name!r}{did_you_mean(name, known)}; the rules are: {_quoted(known)}"
    )


def airflow_config_key(key: str) -> str:
    return (
        f"Airflow config key {key!r} is not 'section.key': write it as in airflow.cfg, e.g. "
        "'core.dagbag_import_timeout'"
    )


def secrets_file_missing(option: str, path: str) -> str:
    return (
        f"{option}: file {path!r} does not exist. Name a JSON, YAML or .env file in Airflow's local "
        "file secrets format (relative paths are read from the ini file's folder)."
    )


def second_run_needs_run_id(dag_id: str, run_id: str, first: object, second: object) -> str:
    return (
        f"This test already has a run of DAG {dag_id!r} (run_id {run_id!r}) dated {first}; a context dated "
        f"{second} would start a second run, whose XComs the first cannot pull. To join the test's run, "
        "leave out logical_date; to start another run (e.g. for include_prior_dates), pass run_id=... "
        "(or run_after=...) too."
    )


def run_date_mismatch(dag_id: str, run_id: str, first: object, second: object) -> str:
    return (
        f"DAG {dag_id!r}'s run {run_id!r} is dated {first}, not {second}: leave out logical_date to join "
        "it, or pass another run_id to start a run at that date."
    )


def mapped_task_needs_map_index(task_id: str) -> str:
    return (
        f"task {task_id!r} is mapped: run_task runs one of its instances, so pass map_index=0 (or another "
        "index) to say which. To run every instance, expansion included, use run_dag."
    )


# -- arguments of run_task, run_dag and task_context ------------------------------------------------


def _kind(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def not_a_task(function: str, value: object) -> str:
    hint = (
        f" To run a task of a DAG by its id, pass dag.get_task({value!r})." if isinstance(value, str) else ""
    )
    return (
        f"{function}() takes a task: an operator, or what calling a @task function inside a DAG "
        f"returns; got {_kind(value)}.{hint}"
    )


def dag_given_for_task(function: str, dag_id: str) -> str:
    return (
        f"{function}() takes one task, but got DAG {dag_id!r}: run the whole DAG with run_dag(dag), "
        "or one of its tasks with run_task(dag.get_task('task_id'))."
    )


def not_a_dag(value: object, function: str = "run_dag()") -> str:
    hint = (
        " Import the DAG object (from the module that defines it) and pass it, not its dag_id."
        if isinstance(value, str)
        else ""
    )
    return f"{function} takes a DAG; got {_kind(value)}.{hint}"


def task_given_for_dag(task: object) -> str:
    task_id = getattr(task, "task_id", None) or getattr(getattr(task, "operator", None), "task_id", "?")
    return (
        f"run_dag() takes a DAG, but got task {task_id!r}: run one task with run_task(task), or its "
        "whole DAG with run_dag(task.dag)."
    )


def task_given_for_task_id(task: object) -> str:
    return "task_context() takes a task_id string as its first argument; pass a task as task=... instead."


def not_a_task_id(value: object) -> str:
    return f"task_context() takes a task_id string as its first argument; got {_kind(value)}."


def not_a_date(function: str, name: str, value: object) -> str:
    example = " (write 20240101 as '2024-01-01')" if isinstance(value, int) else ""
    return (
        f"{function}({name}=...) takes a datetime, a date or an ISO-8601 string; got {_kind(value)}{example}."
    )


def unparsable_date(function: str, name: str, value: str, error: Exception) -> str:
    return (
        f"{function}({name}={value!r}): not an ISO-8601 date or datetime ({error}); write it as "
        "'2024-01-01' or '2024-01-01T06:00:00+00:00'."
    )


def not_a_mapping(function: str, name: str, value: object) -> str:
    return f"{function}({name}=...) takes a dict (name -> value); got {_kind(value)}."


def non_str_keys(function: str, name: str, keys: list) -> str:
    return f"{function}({name}=...): keys must be strings, as in a DAG run's JSON conf; got {keys!r}."


def not_a_run_id(function: str, value: object) -> str:
    return f"{function}(run_id=...) takes a non-empty string; got {_kind(value)}."


def not_an_int(function: str, name: str, value: object) -> str:
    return f"{function}({name}=...) takes an int; got {_kind(value)}."


def int_too_small(function: str, name: str, value: int, minimum: int) -> str:
    meaning = {"map_index": " (-1: an unmapped task)", "try_number": " (1: the first try)"}.get(name, "")
    return f"{function}({name}={value}): the lowest valid value is {minimum}{meaning}."


def map_index_out_of_range(task_id: str, map_index: int, count: int) -> str:
    if count == 0:
        return (
            f"task {task_id!r} expands into no instances from its upstream values (Airflow skips it), so "
            f"there is no map_index {map_index} to run."
        )
    return (
        f"task {task_id!r} expands into {count} instance(s) from its upstream values: valid map indexes "
        f"are 0..{count - 1}. Airflow never creates map_index {map_index}; seed a longer upstream value "
        "or pick an index in range."
    )


INTERRUPTED_DURING_TASK = (
    "interrupted (SIGINT) while a task was running; the task runner reported the task failed, as a "
    "worker does, and the test session stops here"
)


def xcom_key_rewritten(task_id: str, key: str, served_task_id: str, served_key: str) -> str:
    where = f"key {served_key!r}" + (f" of task {served_task_id!r}" if served_task_id != task_id else "")
    return (
        f"XCom key {key!r} (task {task_id!r}) is stored by Airflow as {where}: a worker's API client "
        "puts the key in the URL path unescaped, so '?' starts the query, '#' a fragment, '%XX' is "
        "decoded and '..' climbs a level. Use keys of letters, digits, '_', '-' and '.'."
    )


def xcom_key_without_route(task_id: str, key: str) -> str:
    return (
        f"XCom key {key!r} (task {task_id!r}) makes a URL that no route of the API server matches "
        "(404): a worker's API client puts the key in the URL path unescaped. Use keys of letters, "
        "digits, '_', '-' and '.'."
    )


def xcom_key_reaches_other_route(task_id: str, key: str, reached: str, wanted: str) -> str:
    return (
        f"XCom key {key!r} (task {task_id!r}): the request for its {wanted} reaches the API server's "
        f"{reached} route instead, whose answer the worker's API client cannot read: a worker's API "
        "client puts the key in the URL path unescaped. Use keys of letters, digits, '_', '-' and '.'."
    )


def xcom_none_refused(task_id: str, key: str) -> str:
    return (
        f"Remote server returned validation error: XCom {key!r} of task {task_id!r} has the value None, "
        "and Airflow 3.0's API server refuses it (the API client sends no body for None; the route "
        "requires one, 422 'Field required'). Push another value, or leave the key out: a pull of a "
        "missing XCom returns None. Airflow 3.1 and later store it."
    )


def upstream_group_length_unknown(task_id: str, upstream_id: str, group_id: str) -> str:
    return (
        f"Server returned error: task {task_id!r} could not start: its upstream {upstream_id!r} is in the "
        f"mapped task group {group_id!r}, whose length is not known yet (what it expands over has not "
        "been pushed), and Airflow 3.0's API server fails the start with a 500 (NotFullyPopulated). "
        "dag.test() marks the task failed without running it. A task with trigger rule 'always' reaches "
        "this; Airflow 3.1 and later start it."
    )


# -- waits on the run's clock (triggers, rescheduled sensors) -----------------------------------------


def trigger_never_fired(trigger: str, horizon: timedelta) -> str:
    span = f"{horizon.days} days" if horizon == timedelta(days=horizon.days) else str(horizon)
    return (
        f"the trigger {trigger} gave no event within {span} of the run's clock (moved on instead of "
        "waiting); in Airflow the task would stay deferred. Give the deferral a timeout (defer(timeout="
        "...) or the sensor's timeout), or make the trigger's condition come true in the test."
    )


def trigger_waits_in_real_time(seconds: float) -> str:
    return (
        f"the trigger waited {seconds:g} s of real time for I/O or another thread with nothing scheduled "
        "on its event loop; pytest_xcom moves the run's clock instead of sleeping, but cannot make I/O "
        "arrive. Fake the service the trigger talks to, or test the deferring task with run_task."
    )


def trigger_polls_forever(jumps: int) -> str:
    return (
        f"the trigger slept {jumps} times on the run's clock without an event; in Airflow the task would "
        "stay deferred. Give the deferral a timeout, or make the trigger's condition come true."
    )


def too_many_reschedules(task_id: str, limit: int, now: object) -> str:
    return (
        f"sensor {task_id!r} was rescheduled {limit} times without finishing (the run's clock is now "
        f"{now}); in Airflow it would poke until its timeout. Give it a shorter timeout or a longer "
        "poke_interval, or make its condition come true."
    )


def unsupported_airflow(found: str) -> str:
    """Why pytest_xcom refuses to work next to this Airflow, and what to do instead."""
    if found.split(".")[0] in {"0", "1", "2"}:
        return (
            f"pytest_xcom supports Apache Airflow 3.0 to 3.3, not Airflow 2 (found apache-airflow {found}): "
            "it fakes the Airflow 3 task SDK's supervisor channel, which Airflow 2 does not have. "
            "Upgrade to Airflow 3, or uninstall pytest-xcom (or run pytest with -p no:pytest_xcom)."
        )
    return (
        f"pytest_xcom supports Apache Airflow 3.0 to 3.3 (found apache-airflow {found}): the task SDK "
        "internals it builds on change in every minor release. Install an Airflow between 3.0 and 3.3, "
        "or a pytest_xcom release that supports this one."
    )


def dag_file_not_found(path: object) -> str:
    return f"DAG file not found: {path}"


def which_dag(path: object, dag_ids: list[str]) -> str:
    if not dag_ids:
        return f"{path} defines no DAG (did it fail to import, or is the DAG never created?)"
    return f"{path} defines {len(dag_ids)} DAGs ({_quoted(dag_ids)}): pass dag_id= to choose one"


def dag_not_in_file(path: object, dag_id: str, dag_ids: list[str]) -> str:
    return f"{path} defines no DAG {dag_id!r}; it defines: {_quoted(dag_ids)}{did_you_mean(dag_id, dag_ids)}"


HYPOTHESIS_EXTRA_MISSING = (
    "pytest_xcom.strategies needs hypothesis, which comes with an extra: "
    "pip install 'pytest-xcom[hypothesis]'"
)
# -- run-level: earlier runs, DAG callbacks ---------------------------------------------------------
# PrevDagrunDep's reasons, in Airflow's words (airflow/ti_deps/deps/prev_dagrun_dep.py).
PREV_TI_NOT_RUN = (
    "depends_on_past is true for this task's DAG, but the previous task instance has not run yet."
)
PREV_DOWNSTREAM_UNFINISHED = (
    "The tasks downstream of the previous task instance(s) haven't completed, and wait_for_downstream "
    "is True."
)


def prev_tis_unsuccessful(count: int) -> str:
    return (
        f"depends_on_past is true for this task, but {count} previous task instance(s) are not in a "
        "successful state."
    )


def held_by_earlier_run(reason: str, previous_run_id: str) -> str:
    return (
        f"{reason} (previous run: {previous_run_id!r}). Airflow leaves this task unscheduled and the run "
        "running until that run's instances succeed; run_dag returns instead of waiting for ever. "
        "Use another store (or dag_id) for an independent run."
    )


def waits_for_upstream(task_ids: list[str]) -> str:
    if not task_ids:
        return (
            "its dependencies cannot be met; Airflow does not fail the run as deadlocked while a task "
            "with depends_on_past (or a max_active_tis_per_dag/dagrun limit) is unfinished"
        )
    return f"waits for its upstream task(s) {_quoted(task_ids)}, which cannot run yet"
# -- whole deployments: triggered runs, assets, human in the loop ------------------------------------------


def unknown_dag_run(dag_id: str, run_id: str) -> str:
    return f"DagRun not found: no run {run_id!r} of DAG {dag_id!r} was triggered in this test"


def waits_on_unfollowed_run(dag_id: str, run_id: str, triggered_by: str | None) -> str:
    by = f" (triggered by {triggered_by!r})" if triggered_by else ""
    return (
        f"a task waits for DAG run {run_id!r} of {dag_id!r}{by}, which pytest_xcom does not run: in "
        f"Airflow the scheduler would. Pass the DAG to follow it: run_dag(..., dags=[{dag_id}_dag])."
    )


def follow_cycle(chain: list[str]) -> str:
    return (
        f"following triggered and asset-scheduled runs loops: {' -> '.join(chain)}. In Airflow these DAGs "
        "would trigger each other for ever; leave one out of dags=[...] to stop there."
    )


def follow_too_deep(chain: list[str], limit: int) -> str:
    return (
        f"following triggered and asset-scheduled runs went deeper than {limit} runs: "
        f"{' -> '.join(chain)}; leave a DAG out of dags=[...] to stop earlier."
    )


def not_a_dag_to_follow(value: object) -> str:
    return f"dags=[...] takes DAG objects (the DAGs to follow), got {value!r} ({type(value).__name__})"


def asset_events_key_not_asset(key: object) -> str:
    return (
        f"asset_events={{...}} is keyed by an Asset or an asset URI string, got {key!r} "
        f"({type(key).__name__}); e.g. asset_events={{Asset('s3://bucket/key'): [{{'rows': 3}}]}}"
    )


def asset_event_extra_not_mapping(uri: str, item: object) -> str:
    return (
        f"asset_events for {uri!r}: each event is its extra (a dict) or an AssetEventRecord, got {item!r} "
        f"({type(item).__name__})"
    )


def hitl_responses_not_mapping(task_id: str, value: object) -> str:
    return (
        f"hitl_responses[{task_id!r}] must be a dict like {{'chosen_options': ['Approve'], "
        f"'params_input': {{}}}}, got {value!r}"
    )


def hitl_unknown_response_keys(task_id: str, keys: list[str]) -> str:
    return (
        f"hitl_responses[{task_id!r}] has keys {keys}: a response has 'chosen_options' (a list of the "
        "operator's options) and optionally 'params_input' (a dict), 'responded_by' (a user id)"
    )


def hitl_response_refused(task_id: str, refusal: str) -> str:
    return (
        f"hitl_responses[{task_id!r}] is a response Airflow's API refuses (HTTP 400): {refusal} "
        "In Airflow the task would go on waiting for one it accepts: give such a response."
    )


HITL_UNSUPPORTED = (
    "hitl_responses=... needs Airflow 3.1 or later: this Airflow has no human-in-the-loop operators"
)


def hitl_waits_for_ever(task_id: str) -> str:
    return (
        f"task {task_id!r} waits for a human response and has no response_timeout: in Airflow it would wait "
        f"until someone responds. Give one: hitl_responses={{{task_id!r}: {{'chosen_options': [...]}}}}."
    )
def not_a_mapped_task(task_id: str) -> str:
    return (
        f"task {task_id!r} is not mapped (it runs once, at map_index -1): read its value with "
        f"result[{task_id!r}].return_value, or result.xcoms[({task_id!r}, -1, key)]"
    )


def not_a_dag_file(path: str) -> str:
    return f"{path} cannot be imported as a Python module: pass the path of a DAG file ending in .py"


def provide_context_hint(error_text: str) -> str | None:
    """The hint for an error that ``provide_context=True`` caused (in a test, or while a module loads)."""
    return PROVIDE_CONTEXT if "provide_context" in error_text else None


def deadline_reference_unsupported(kind: str) -> str:
    return (
        f"pytest_xcom cannot evaluate the deadline reference {kind}: a custom reference reads Airflow's "
        "metadata DB, which a test does not have. Use DeadlineReference.DAGRUN_LOGICAL_DATE, "
        "DAGRUN_QUEUED_AT, FIXED_DATETIME(...) or AVERAGE_RUNTIME(...) in the DAG under test."
    )
