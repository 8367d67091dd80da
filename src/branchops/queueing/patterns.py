"""Queue patterns (排队类型) from the lean queue-management practice: which kind of queue an outlet
has over a period, by written rules, so that each gets its own measures.

Pure module (no Django). Input is the outlet's half-hour profile over the period — for each
half-hour of the day, summed over the days: served customers, of whom waited over their tier's
threshold, split regular / VIP, and device busy seconds and capacity. The rules:

- ``all_day`` 全天排队: regular customers' overtime-wait ratio reaches ``ratio`` (default 20 %) in
  at least ``all_day_share`` (60 %) of the open half-hours. (Regular customers: VIP customers
  queueing alone is the VIP pattern, not a hall that queues all day.)
- ``peak`` 阶段性排队: it reaches ``ratio`` in some open half-hours, but fewer than ``all_day_share``.
- ``vip`` 高端客户排队: VIP customers' overtime-wait ratio reaches ``ratio`` and is at least
  ``vip_factor`` (1.5) times the regular customers' — VIP customers queue while others do not.
- ``self_service`` 自助饱和: devices are busy at least ``device_saturation`` (85 %) of their time in at
  least ``device_share`` (25 %) of the open half-hours.

A half-hour counts as open when at least ``min_served`` customers were served in it over the period,
so a quiet slot with one long wait does not make a pattern. The first two exclude each other; the
others can come on top.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

PATTERNS = ("all_day", "vip", "self_service", "peak")

# The seeds' measures per pattern (codes; the UI shows their text).
MEASURES = {
    "all_day": ("shift_changes", "add_counters", "move_to_devices", "flexible_windows"),
    "vip": ("vip_lane", "vip_flexible_window", "appointments"),
    "self_service": ("add_devices", "second_triage", "device_checks"),
    "peak": ("flexible_windows", "second_triage", "staggered_lunch"),
}


@dataclass(frozen=True)
class Rules:
    ratio: float = 0.20
    all_day_share: float = 0.60
    vip_factor: float = 1.5
    device_saturation: float = 0.85
    device_share: float = 0.25
    min_served: int = 5
    min_vip_served: int = 20


@dataclass(frozen=True)
class Slot:
    """One half-hour of the day, summed over the period's days."""

    interval: int
    served_regular: int = 0
    overtime_regular: int = 0
    served_vip: int = 0
    overtime_vip: int = 0
    device_busy_seconds: float = 0.0
    device_capacity_seconds: float = 0.0

    @property
    def served(self) -> int:
        return self.served_regular + self.served_vip

    @property
    def ratio(self) -> float:
        return (self.overtime_regular + self.overtime_vip) / self.served if self.served else 0.0

    @property
    def regular_ratio(self) -> float:
        return self.overtime_regular / self.served_regular if self.served_regular else 0.0

    @property
    def device_utilisation(self) -> float:
        return self.device_busy_seconds / self.device_capacity_seconds if self.device_capacity_seconds else 0.0


@dataclass
class Classification:
    patterns: list[str]
    open_slots: int
    queueing_slots: list[int]  # the half-hours (0..47) over the ratio
    saturated_slots: list[int]
    ratio: float
    vip_ratio: float
    regular_ratio: float
    measures: list[str] = field(default_factory=list)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def classify(slots: Iterable[Slot], rules: Rules = Rules()) -> Classification:
    slots = sorted(slots, key=lambda s: s.interval)
    open_ = [s for s in slots if s.served >= rules.min_served]
    queueing = [s.interval for s in open_ if s.regular_ratio >= rules.ratio]
    saturated = [s.interval for s in open_ if s.device_utilisation >= rules.device_saturation]
    served_reg = sum(s.served_regular for s in slots)
    served_vip = sum(s.served_vip for s in slots)
    reg_ratio = _share(sum(s.overtime_regular for s in slots), served_reg)
    vip_ratio = _share(sum(s.overtime_vip for s in slots), served_vip)
    ratio = _share(sum(s.overtime_regular + s.overtime_vip for s in slots), served_reg + served_vip)

    patterns = []
    if open_ and len(queueing) >= rules.all_day_share * len(open_):
        patterns.append("all_day")
    if (served_vip >= rules.min_vip_served and vip_ratio >= rules.ratio
            and vip_ratio >= rules.vip_factor * reg_ratio):
        patterns.append("vip")
    if open_ and len(saturated) >= rules.device_share * len(open_):
        patterns.append("self_service")
    if queueing and "all_day" not in patterns:
        patterns.append("peak")
    measures = list(dict.fromkeys(m for p in patterns for m in MEASURES[p]))
    return Classification(patterns, len(open_), queueing, saturated, ratio, vip_ratio, reg_ratio, measures)
