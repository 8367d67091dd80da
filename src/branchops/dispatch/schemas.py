"""The typed input of each work-order action in the API (the ``schema`` of its entry in ``actions.py``)."""

from branchops.core.api import ActionInput


class DoneIn(ActionInput):
    note: str = ""


class ProblemIn(ActionInput):
    title: str = ""
    description: str = ""


class WorkOrderActionIn(DoneIn, ProblemIn):
    """The fields each action reads (done: note; problem: title, description); the others are ignored."""
