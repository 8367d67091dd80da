"""The four queue patterns by their written rules."""

from branchops.queueing.patterns import Rules, Slot, classify


def day(ratios, served=40, vip=None, devices=None):
    """A profile of 16 open half-hours (09:00–17:00) with the given overtime ratios per slot."""
    slots = []
    for i, r in enumerate(ratios):
        s_vip, o_vip = vip[i] if vip else (0, 0)
        busy, cap = devices[i] if devices else (0.0, 0.0)
        slots.append(Slot(18 + i, served, round(served * r), s_vip, o_vip, busy, cap))
    return slots


def test_balanced_outlet_has_no_pattern():
    c = classify(day([0.05] * 16))
    assert c.patterns == [] and c.open_slots == 16 and c.queueing_slots == [] and c.measures == []


def test_all_day_queueing():
    c = classify(day([0.3] * 10 + [0.1] * 6))  # 10 of 16 = 62.5 % ≥ 60 %
    assert c.patterns == ["all_day"] and len(c.queueing_slots) == 10
    assert "add_counters" in c.measures


def test_peak_period_queueing_names_the_peaks():
    ratios = [0.05] * 16
    ratios[5] = ratios[6] = 0.4  # 11:30–12:30
    c = classify(day(ratios))
    assert c.patterns == ["peak"] and c.queueing_slots == [23, 24]
    assert c.measures == ["flexible_windows", "second_triage", "staggered_lunch"]


def test_vip_queueing_needs_vip_customers_to_wait_more_than_others():
    vip = [(5, 2)] * 16  # 80 VIP served, 32 over their threshold = 40 %
    assert "vip" in classify(day([0.05] * 16, vip=vip)).patterns
    # Everybody waits as long: that is all-day queueing, not a VIP problem.
    assert "vip" not in classify(day([0.4] * 16, vip=vip)).patterns
    # Too few VIP customers to tell.
    assert "vip" not in classify(day([0.05] * 16, vip=[(1, 1)] * 16)).patterns


def test_self_service_saturation():
    busy = [(1700.0, 1800.0)] * 5 + [(600.0, 1800.0)] * 11  # 5 of 16 slots ≥ 85 %
    c = classify(day([0.05] * 16, devices=busy))
    assert c.patterns == ["self_service"] and len(c.saturated_slots) == 5
    assert classify(day([0.05] * 16, devices=busy), Rules(device_share=0.5)).patterns == []


def test_quiet_slots_do_not_count():
    slots = day([0.05] * 16) + [Slot(40, served_regular=2, overtime_regular=2)]  # 20:00, two customers
    assert classify(slots).patterns == []


def test_vip_customers_queueing_alone_do_not_make_all_day_queueing():
    vip = [(30, 20)] * 16  # VIP customers wait long in every slot, regular customers do not
    c = classify(day([0.05] * 16, served=40, vip=vip))
    assert c.patterns == ["vip"] and c.queueing_slots == []
