"""What a DAG task's templates see of a run when a test renders them: the XComs its upstream tasks left."""

from __future__ import annotations


class TaskInstanceStub:
    """The `ti` of a template context, holding the XComs the run's upstream tasks left, by task id."""

    def __init__(self, xcoms: dict[str, object]):
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: str):
        return self.xcoms.get(task_ids)
