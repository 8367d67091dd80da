"""Flexible-window proposals as the outlet page lists them (issue 16, item 7): inside the business
hours only, and as non-overlapping stretches (the engine's layered windows summed)."""

from datetime import date, time

from branchops.queueing import labels
from branchops.queueing.models import QueueSettings

MONDAY = date(2026, 3, 2)


def staffing_rows(day, needs: dict[int, int], open_: int = 1) -> list[dict]:
    return [{"day": day, "interval_idx": i, "needed": n, "open": open_} for i, n in needs.items()]


def test_proposals_stay_in_business_hours_and_do_not_overlap():
    conf = QueueSettings(opens_at=time(8, 30), closes_at=time(17, 30))
    # A machine's test run at 00:00–02:30 with a big "need", then a day with a lunch peak: one extra
    # window all day, a second and third over lunch — three layered engine changes.
    needs = {i: 4 for i in range(0, 6)}
    needs |= {i: 2 for i in range(17, 35)}
    needs |= {i: 3 for i in range(22, 28)}
    needs |= {i: 4 for i in range(24, 26)}
    rows = staffing_rows(MONDAY, needs)
    got = labels.proposals(rows, 6, conf.business_slots())
    spans = [(p["start"], p["end"], p["change"]) for p in got]
    assert spans == [("08:30", "11:00", 1), ("11:00", "12:00", 2), ("12:00", "13:00", 3), ("13:00", "14:00", 2),
                     ("14:00", "17:30", 1)]
    for a, b in zip(got, got[1:], strict=False):
        assert a["end"] <= b["start"]  # one row per stretch: nothing overlaps
    # Without business hours the night-time run would be planned for.
    assert labels.proposals(rows, 6)[0]["start"] == "00:00"
