"""Words for the queue pages and API: levels, patterns, measures, the KPI definitions as the UI
states them, and half-hour slot labels. The engines speak in codes; people read these."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .schema import TICKET_COLUMNS

LEVELS = {
    "outlet": gettext_lazy("Outlet"),
    "cluster": gettext_lazy("Cluster"),
    "sub_branch": gettext_lazy("Sub-branch"),
    "branch": gettext_lazy("Branch"),
}

PATTERNS = {
    "all_day": gettext_lazy("All-day queueing (全天排队)"),
    "vip": gettext_lazy("VIP queueing (高端客户排队)"),
    "self_service": gettext_lazy("Self-service saturation (自助饱和)"),
    "peak": gettext_lazy("Peak-period queueing (阶段性排队)"),
}

MEASURES = {
    "shift_changes": gettext_lazy("Re-plan shifts so staffing follows the arrival curve"),
    "add_counters": gettext_lazy("Open more counters for the whole day"),
    "move_to_devices": gettext_lazy("Move simple business to smart devices"),
    "flexible_windows": gettext_lazy("Open flexible windows at the peaks"),
    "vip_lane": gettext_lazy("Keep a VIP lane and let regular counters call VIP tickets when free"),
    "vip_flexible_window": gettext_lazy("Turn one counter into a VIP window when VIP customers queue"),
    "appointments": gettext_lazy("Book VIP customers by appointment"),
    "add_devices": gettext_lazy("Add or re-site smart devices"),
    "second_triage": gettext_lazy("Second triage in the lobby (大堂二次分流)"),
    "device_checks": gettext_lazy("Check devices daily so none stands idle broken"),
    "staggered_lunch": gettext_lazy("Stagger lunch breaks and shift changes away from the peaks"),
}

PROPOSAL_REASONS = {
    "under_staffed": gettext_lazy("fewer counters open than the service target needs"),
    "over_staffed": gettext_lazy("more counters open than the service target needs"),
}

TICKET_COLUMNS_HELP = TICKET_COLUMNS


def slot(interval_idx: int) -> str:
    minutes = int(interval_idx) * 30
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def definitions(conf) -> list[tuple[str, str]]:
    """The KPI definitions the pages and the API state next to the figures."""
    return [
        (_("Wait"), _("From taking the ticket to being called (called − issued), as the leading queue "
                      "systems define it; a ticket called again after a no-show counts its last call.")),
        (_("Overtime-wait ratio"), _(
            "The share of called customers whose wait exceeded the threshold of their tier: regular "
            "%(regular)s min, VIP %(vip)s min, private banking %(private)s min.") % {
            "regular": conf.regular_threshold_minutes, "vip": conf.vip_threshold_minutes,
            "private": conf.private_threshold_minutes}),
        (_("Counter utilisation"), _("Serving time over the time of the counters that served in each "
                                     "half-hour.")),
        (_("Peak queue"), _("The most customers waiting at once (issued, not yet called) in any half-hour.")),
        (_("Device migration"), _("Device transactions over device transactions plus counter tickets.")),
        (_("Service target"), _("%(level)s%% of customers called within %(minutes)s minutes; counters needed by "
                                "Erlang C, or Erlang A where more than %(abandon)s%% of customers give up.") % {
            "level": round(float(conf.target_level) * 100), "minutes": conf.target_wait_minutes,
            "abandon": round(float(conf.abandonment_significant) * 100)}),
    ]


def proposals(rows):  # TEMP until staffing.py lands
    return []
