"""What the API server refuses in some Airflow versions and not in others, as the runner sees it."""

from __future__ import annotations


class StartRefused(Exception):
    """The API server failed a task instance's start request (``error`` is what the API client raises):
    the instance ends failed without running, as dag.test() ends it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error
