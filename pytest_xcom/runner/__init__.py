"""Running tasks and whole DAGs in-process: Airflow's task runner, with the scheduler's part done here.

Each task instance runs through Airflow's ``task_runner.run()`` and ``finalize()`` exactly as a worker
runs it (:mod:`.task_runner`). What the scheduler and API server decide is ported from Airflow's own
scheduler code, one module per piece, each named after what it mirrors:

- :mod:`.dag_test`: ``DAG.test()``'s loop of scheduling passes;
- :mod:`.dagrun`: ``DagRun`` (creating instances, ``task_instance_scheduling_decisions``, ``update_state``);
- :mod:`.trigger_rule_dep`: ``TriggerRuleDep``;
- :mod:`.mapped`: mapped lengths, ``expand_mapped_task``, ``MappedTaskUpstreamDep``, relevant map indexes;
- :mod:`.ti_deps`: ``NotInRetryPeriodDep``, ``NotPreviouslySkippedDep``, ``PrevDagrunDep``;
- :mod:`.callbacks`: the DAG's success and failure callbacks, as the DAG processor calls them;
- :mod:`.deadlines`: ``DAG(deadline=...)``, deadlines and their callbacks on the run's clock.
"""

from __future__ import annotations

from pytest_xcom.runner.dag_test import DagRunner, run_dag
from pytest_xcom.runner.results import DagRunResult, TaskRunResult
from pytest_xcom.runner.task_runner import TaskRunner, run_task

__all__ = ["DagRunResult", "DagRunner", "TaskRunResult", "TaskRunner", "run_dag", "run_task"]
