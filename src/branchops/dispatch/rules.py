"""Who may act on work orders and outlet capacity, and which states allow what (DESIGN.md §2).

Predicates are plain functions ``(user, obj) -> bool`` of role and scope; the action table
(``actions.py``) offers an action on the page and in the API when its predicate holds and the work
order's state allows it, and the services check the same predicate through ``core.actions.require``.
``WORK_ORDER_FLOW`` is the only way a service moves a work order.
"""

from django.utils.translation import gettext_lazy as _

from branchops.core.actions import Transitions
from branchops.org.scope import in_scope

from .models import WorkOrder

W = WorkOrder.Status
OPEN = (W.RELEASED, W.ACKNOWLEDGED, W.PROBLEM)  # work the outlet still has to do
FINISHED = (W.DONE, W.CANCELLED)

_REFUSALS = {
    "acknowledge": _("This work order was already acknowledged."),
    "done": _("This work order is already done."),
    "problem": _("A problem is raised on a work order not yet done, and once."),
    "cancel": _("Only a work order not yet done or cancelled can be cancelled."),
}
_CANCELLED = _("This work order was cancelled: its work is no longer to be done.")

WORK_ORDER_FLOW = Transitions({
    "acknowledge": ([W.RELEASED], W.ACKNOWLEDGED),
    "done": ([W.RELEASED, W.ACKNOWLEDGED, W.PROBLEM], W.DONE),
    "problem": ([W.RELEASED, W.ACKNOWLEDGED], W.PROBLEM),
    "cancel": (OPEN, W.CANCELLED),
}, refusal=lambda wo, action: str(  # in the language of the refused request
    _CANCELLED if wo.status == W.CANCELLED and action != "cancel" else _REFUSALS[action]))


def acts_for_outlet(user, wo) -> bool:
    """The outlet's head acts on the outlet's own work orders."""
    staff = getattr(user, "staff", None)
    return user.has_perm("dispatch.change_workorder") and staff is not None \
        and staff.institution_id == wo.institution_id


def sets_capacity(user, outlet) -> bool:
    """The secretariat sets the capacity of the outlets in its scope."""
    return user.has_perm("dispatch.change_outletcapacity") and in_scope(user, outlet)


def cancels(user, wo) -> bool:
    """The secretariat cancels work orders of the outlets in its scope."""
    return user.has_perm("dispatch.cancel_workorder") and in_scope(user, wo.institution)
