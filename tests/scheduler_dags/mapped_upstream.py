"""A mapped task whose list source failed or was skipped is decided at once, whatever its trigger rule."""

from __future__ import annotations

from airflow.exceptions import AirflowSkipException
from airflow.sdk import DAG, task


@task
def broken_source():
    raise ValueError("no list")


@task
def skipped_source():
    raise AirflowSkipException("nothing today")


@task(trigger_rule="all_done")
def each(x):
    return x


@task(trigger_rule="none_failed")
def each_none_failed(x):
    return x


@task(trigger_rule="all_done")
def after(values):
    return list(values) if values is not None else None


with DAG("source_failed_all_done", schedule=None):
    after(each.expand(x=broken_source()))


with DAG("source_skipped_all_done", schedule=None):
    after(each.expand(x=skipped_source()))


with DAG("source_skipped_none_failed", schedule=None):
    each_none_failed.expand(x=skipped_source())


@task(trigger_rule="all_skipped")
def each_all_skipped(x):
    return x


with DAG("source_failed_all_skipped", schedule=None):
    each_all_skipped.expand(x=broken_source())
