"""The typed input of each work-order action in the API (the ``schema`` of its entry in ``actions.py``)."""

from branchops.core.api import ActionInput


class DoneIn(ActionInput):
    note: str = ""


class ProblemIn(ActionInput):
    title: str = ""
    description: str = ""


class CancelIn(ActionInput):
    reason: str = ""


class WorkOrderActionIn(DoneIn, ProblemIn, CancelIn):
    """The fields each action reads (done: note; problem: title, description; cancel: reason); the
    others are ignored."""
