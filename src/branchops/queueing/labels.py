"""Words for the queue pages and API: levels, patterns, measures, the KPI definitions as the UI
states them, and half-hour slot labels. The engines speak in codes; people read these."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .schema import TICKET_COLUMNS

LEVELS = {
    "outlet": gettext_lazy("Outlet"),
    "cluster": gettext_lazy("Cluster"),
    "sub_branch": gettext_lazy("Sub-branch"),
    "branch": gettext_lazy("Branch"),
}

TIERS = {
    "regular": gettext_lazy("Regular"),
    "vip": gettext_lazy("VIP"),
    "private": gettext_lazy("Private banking"),
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
    "understaffed": gettext_lazy("fewer counters open than the service target needs"),
    "below_minimum": gettext_lazy("fewer counters open than the outlet's minimum"),
    "overstaffed": gettext_lazy("more counters open than the service target needs"),
    "above_maximum": gettext_lazy("more counters open than the outlet has"),
    "capacity_exceeded": gettext_lazy("even every counter of the outlet is not enough"),
}

WEEKDAYS = (gettext_lazy("Mondays"), gettext_lazy("Tuesdays"), gettext_lazy("Wednesdays"),
            gettext_lazy("Thursdays"), gettext_lazy("Fridays"), gettext_lazy("Saturdays"), gettext_lazy("Sundays"))

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
        (_("Peak queue"), _("The most customers waiting at once (issued, not yet called) in any half-hour, "
                            "counting the customers who were called; those who gave up are left out, as the "
                            "log does not say when they left.")),
        (_("Device migration"), _("Device transactions over device transactions plus counter tickets.")),
        (_("Service target"), _("%(level)s%% of customers called within %(minutes)s minutes; counters needed by "
                                "Erlang C, or Erlang A where more than %(abandon)s%% of customers give up.") % {
            "level": round(float(conf.target_level) * 100), "minutes": conf.target_wait_minutes,
            "abandon": round(float(conf.abandonment_significant) * 100)}),
    ]


def _segments(changes, size: int) -> list[tuple[int, int, int, str]]:
    """The engine's layered changes (one per window moved: "+1 09:00–17:00" and "+1 11:00–13:00")
    as non-overlapping stretches with the total change in each ("+1 09:00–11:00", "+2 11:00–13:00",
    "+1 13:00–17:00"): (first, last, change, reason), capacity shortfalls as their own stretches."""
    net, short = [0] * size, [0] * size
    why: list[dict[str, int]] = [{} for _ in range(size)]
    for c in changes:
        for i in range(c.first_interval, c.first_interval + c.intervals):
            if c.actionable:
                net[i] += c.change
                why[i][c.reason] = why[i].get(c.reason, 0) + abs(c.change)
            else:
                short[i] = max(short[i], c.change)
    out = []
    for values, kind in ((net, None), (short, "capacity_exceeded")):
        i = 0
        while i < size:
            j = i
            while j + 1 < size and values[j + 1] == values[i] and (kind or why[j + 1].keys() == why[i].keys()):
                j += 1
            if values[i]:
                reason = kind or max(why[i], key=lambda r: (why[i][r], r))
                out.append((i, j, values[i], reason))
            i = j + 1
    return sorted(out, key=lambda seg: (seg[0], seg[3] == "capacity_exceeded"))


def proposals(rows: list[dict], max_counters: int | None = None, hours: tuple[int, int] = (0, 48)) -> list[dict]:
    """Flexible-window proposals per weekday within the business hours (``hours``: first and last
    half-hour, exclusive): for each half-hour the median of the counters needed and open on that
    weekday over the period, planned by ``staffing.plan_outlet_day``, listed as non-overlapping
    stretches with the total change in each."""
    from datetime import time
    from statistics import median_low

    from . import staffing

    open_first, open_last = hours
    by_day: dict[int, dict[int, tuple[list, list]]] = {}
    for r in rows:
        if not open_first <= r["interval_idx"] < open_last:
            continue  # tickets outside business hours are flagged, never planned for
        need, have = by_day.setdefault(r["day"].weekday(), {}).setdefault(r["interval_idx"], ([], []))
        need.append(r["needed"])
        have.append(r["open"])
    policy = staffing.FlexPolicy(max_counters=max_counters or None)
    out = []
    for weekday in sorted(by_day):
        slots = by_day[weekday]
        first, last = min(slots), max(slots)
        needed = [median_low(slots[i][0]) if i in slots else None for i in range(first, last + 1)]
        have = [median_low(slots[i][1]) if i in slots else None for i in range(first, last + 1)]
        days = max(len(v[0]) for v in slots.values())
        start = time(first * 30 // 60, first * 30 % 60)
        changes = staffing.plan_outlet_day(needed, have, start=start, policy=policy)
        for lo, hi, change, reason in _segments(changes, last - first + 1):
            n = abs(change)
            if reason == "capacity_exceeded":
                text = ngettext("%(n)s counter short", "%(n)s counters short", n) % {"n": n}
            elif change > 0:
                text = ngettext("open %(n)s more window", "open %(n)s more windows", n) % {"n": n}
            else:
                text = ngettext("close %(n)s window", "close %(n)s windows", n) % {"n": n}
            out.append({"weekday": WEEKDAYS[weekday], "start": slot(first + lo),
                        "end": slot((first + hi + 1) % 48), "change": change, "text": text,
                        "reason": PROPOSAL_REASONS.get(reason, reason), "days": days, "code": reason})
    return out


def calendar_warning(years) -> str:
    """The warning beside a forecast over years whose holidays the calendar does not know."""
    return _("The public holidays of %(years)s are not known yet: the forecast treats those days as "
             "ordinary days. Enter the State Council's schedule as calendar overrides (Working-day calendar; "
             "Admin → Calendar days) once it is published.") % {"years": ", ".join(str(y) for y in years)}


# What each queue setting changes, shown beside it on the settings page (and in the API).
SETTING_EFFECTS = {
    "regular_threshold_minutes": gettext_lazy(
        "A regular customer called after waiting longer than this counts as an overtime wait: the "
        "overtime-wait ratio on every page, in the API and in service grading changes at once."),
    "vip_threshold_minutes": gettext_lazy("The same for VIP customers (usually shorter)."),
    "private_threshold_minutes": gettext_lazy("The same for private-banking customers."),
    "target_wait_minutes": gettext_lazy(
        "The service target the staffing model plans for: how soon customers should be called. A shorter "
        "time asks for more counters in the staffing table and the flexible-window proposals."),
    "target_level": gettext_lazy("The share of customers the target must hold for (0.50–0.99)."),
    "abandonment_significant": gettext_lazy(
        "Above this share of customers giving up, staffing uses Erlang A (which counts their impatience) "
        "instead of Erlang C."),
    "pattern_ratio": gettext_lazy(
        "A half-hour whose overtime-wait ratio reaches this is a queueing half-hour for the queue patterns."),
    "all_day_share": gettext_lazy(
        "When at least this share of the open half-hours are queueing, the outlet's pattern is all-day queueing."),
    "device_saturation": gettext_lazy("Device utilisation at or above this counts as self-service saturation."),
    "paydays": gettext_lazy("Days of the month when wages arrive: the forecast expects more customers on them."),
    "opens_at": gettext_lazy(
        "Business hours: flexible-window proposals stay inside them, and outlet days with tickets issued "
        "outside them are flagged (a queue machine's wrong clock, or a test run left in the log)."),
    "closes_at": gettext_lazy("The end of business hours (see the opening time)."),
    "type_mapping": gettext_lazy(
        "Maps the codes of your queue machines' log to the product's. business_type lines give each business "
        "type of the log its business category: the KPIs by category use them when read, so a change applies "
        "to every stored month at once and types not mapped show as “unmapped”. queue_type and customer_tier "
        "lines translate the log's own queue and tier codes when a file is imported; rows with a code that is "
        "neither a product code nor mapped are rejected with their line — add the code here and import the "
        "same file again: only those rows are added."),
}
