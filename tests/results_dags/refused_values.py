"""Values a real worker refuses: which of them dag.test() lets through."""

from __future__ import annotations

import dataclasses

from airflow.sdk import DAG, task


@task
def push_nan():
    return float("nan")


@task
def push_big_int():
    return 2**64


with DAG("push_nan", schedule=None) as push_nan_dag:
    push_nan()

with DAG("push_big_int", schedule=None) as push_big_int_dag:
    push_big_int()


@task
def push_none(ti=None):
    ti.xcom_push(key="nothing", value=None)
    return "pushed"


@task
def pull_none(ti=None):
    return [ti.xcom_pull(task_ids="push_none", key="nothing", map_indexes=-1, default="default")]


with DAG("push_none", schedule=None) as push_none_dag:
    push_none() >> pull_none()


@dataclasses.dataclass
class Reading:
    sensor: str
    value: float


@task
def push_reading():
    return Reading("t1", 21.5)  # pushes; outside allowed_deserialization_classes, a pull fails


@task
def pull_reading(reading):
    return reading.value


with DAG("push_unreadable", schedule=None) as push_unreadable_dag:
    pull_reading(push_reading())
