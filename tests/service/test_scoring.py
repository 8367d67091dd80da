"""The grading engine alone (no database): a quarter computed by hand for a few outlets."""

import random

import pytest

from branchops.service import scoring as S

WAIT = S.Indicator("wait", 50, S.LOWER, S.LINEAR, full_at=0.05, zero_at=0.35)
SAT = S.Indicator("sat", 30, S.HIGHER, S.LINEAR, full_at=0.99, zero_at=0.85)
COMPL = S.Indicator("compl", 20, S.LOWER, S.SCALE, scale=((0.5, 1.0), (1.0, 0.8), (2.0, 0.5)))
BANDS = (S.Band("A", 90), S.Band("B", 80), S.Band("C", 60), S.Band("D", 0))
SCHEME = S.Scheme((WAIT, SAT, COMPL), BANDS, vetoes=(S.Veto("media", "media"),),
                  reliability_code="rate", reliability_min=0.3, reliability_affects=("sat",))

# By hand: X full marks; Y half of everything; Z wait 0.8×50=40, sat (0.964-0.85)/0.14×30=24.43, compl 16.
QUARTER = {
    "X": {"wait": 0.05, "sat": 0.99, "compl": 0.4, "media": 0, "rate": 0.8},
    "Y": {"wait": 0.20, "sat": 0.92, "compl": 1.5, "media": 0, "rate": 0.8},
    "Z": {"wait": 0.11, "sat": 0.964, "compl": 0.8, "media": 0, "rate": 0.8},
}


def by_outlet(results):
    return {r.outlet: r for r in results}


def test_hand_computed_quarter_by_thresholds():
    r = by_outlet(S.grade_outlets(SCHEME, QUARTER))
    assert [p.points for p in r["X"].indicators] == [50, 30, 20]
    assert (r["X"].total, r["X"].grade, r["X"].rank) == (100, "A", 1)
    assert [p.points for p in r["Y"].indicators] == [25, 15, 10]
    assert (r["Y"].total, r["Y"].grade, r["Y"].rank) == (50, "D", 3)
    assert [p.points for p in r["Z"].indicators] == [40, 24.43, 16]
    assert (r["Z"].total, r["Z"].grade, r["Z"].rank) == (80.43, "B", 2)


def test_every_lost_point_has_a_reason():
    z = by_outlet(S.grade_outlets(SCHEME, QUARTER))["Z"]
    wait, sat, compl = z.indicators
    assert wait.lost == 10 and wait.reason.key == "linear"
    assert wait.reason.params == {"value": 0.11, "full_at": 0.05, "zero_at": 0.35}
    assert sat.lost == 5.57 and sat.reason.key == "linear"
    assert compl.lost == 4 and compl.reason == S.Reason("scale", {"value": 0.8, "bound": 1.0, "best": 0.5,
                                                                  "share": 0.8})
    x = by_outlet(S.grade_outlets(SCHEME, QUARTER))["X"]
    assert all(i.reason is None and i.lost == 0 for i in x.indicators)


def test_scale_beyond_the_last_step_gives_nothing():
    share, reason = S.share_of(COMPL, 2.5)
    assert share == 0 and reason.params["bound"] is None


def test_missing_input_renormalises_the_other_weights():
    inputs = {"W": {"wait": 0.20, "sat": None, "compl": 0.4, "media": 0}}
    w = S.grade_outlets(SCHEME, inputs)[0]
    assert w.missing == ["sat"]
    sat = w.indicators[1]
    assert sat.missing and sat.points is None and sat.reason.key == "missing_renormalised"
    assert w.total == 64.29  # (25 + 20) × 100 / 70, never a silent zero
    assert w.grade == "C"


def test_missing_input_fixed_share():
    scheme = S.Scheme(SCHEME.indicators, BANDS, missing_rule=S.FIXED, missing_share=0.6)
    w = S.grade_outlets(scheme, {"W": {"wait": 0.20, "compl": 0.4}})[0]
    assert w.indicators[1].points == 18 and w.indicators[1].lost == 12
    assert w.indicators[1].reason == S.Reason("missing_fixed", {"share": 0.6})
    assert w.total == 63 and w.grade == "C"


def test_everything_missing_is_not_graded():
    r = S.grade_outlets(SCHEME, {"E": {}, "X": QUARTER["X"]})
    e = by_outlet(r)["E"]
    assert (e.total, e.grade, e.rank) == (None, "", None)
    assert by_outlet(r)["X"].rank == 1


def test_veto_gives_d_whatever_the_score():
    inputs = {**QUARTER, "X": {**QUARTER["X"], "media": 1}}
    x = by_outlet(S.grade_outlets(SCHEME, inputs))["X"]
    assert x.total == 100 and x.vetoes == ["media"] and x.grade == "D"


def test_unchecked_veto_is_named_not_assumed():
    x = S.grade_outlets(SCHEME, {"X": {"wait": 0.05, "sat": 0.99, "compl": 0.4}})[0]
    assert x.vetoes == [] and x.unchecked_vetoes == ["media"] and x.grade == "A"


def test_low_evaluation_rate_marks_satisfaction_unreliable():
    inputs = {"X": {**QUARTER["X"], "rate": 0.2}, "Y": QUARTER["Y"]}
    r = by_outlet(S.grade_outlets(SCHEME, inputs))
    assert r["X"].unreliable == ["sat"] and r["X"].indicators[1].unreliable
    assert r["Y"].unreliable == []


QUOTAS = S.Scheme(SCHEME.indicators, (S.Band("A", quota=0.25), S.Band("B", quota=0.25), S.Band("C", quota=0.25),
                                      S.Band("D", quota=0.25)), method=S.QUOTAS, vetoes=SCHEME.vetoes)


def test_quotas_with_a_tie_share_the_better_grade_and_rank():
    inputs = {**QUARTER, "T": dict(QUARTER["Z"])}  # T ties Z on 80.43
    r = by_outlet(S.grade_outlets(QUOTAS, inputs))
    assert [(k, r[k].rank, r[k].grade) for k in "XZTY"] == [("X", 1, "A"), ("Z", 2, "B"), ("T", 2, "B"), ("Y", 4, "D")]


def test_ties_do_not_depend_on_order():
    inputs = {**QUARTER, "T": dict(QUARTER["Z"]), "U": dict(QUARTER["Y"])}
    expected = {r.outlet: (r.rank, r.grade) for r in S.grade_outlets(QUOTAS, inputs)}
    items = list(inputs.items())
    for seed in range(5):
        random.Random(seed).shuffle(items)
        assert {r.outlet: (r.rank, r.grade) for r in S.grade_outlets(QUOTAS, dict(items))} == expected


def test_quota_vetoed_outlets_leave_the_pool():
    inputs = {**QUARTER, "T": {**QUARTER["X"], "media": 1}}
    r = by_outlet(S.grade_outlets(QUOTAS, inputs))
    assert r["T"].grade == "D"
    # three in the pool: bounds round(0.75)=1 → A, round(1.5)=2 → B, round(2.25)=2 … then D
    assert (r["X"].grade, r["Z"].grade) == ("A", "B")


@pytest.mark.parametrize("scheme, fault", [
    (S.Scheme((WAIT, SAT), BANDS), "weights"),
    (S.Scheme((WAIT, SAT, COMPL), (S.Band("A"),)), "band_thresholds"),
    (S.Scheme((WAIT, SAT, COMPL), (S.Band("A", 60), S.Band("B", 80), S.Band("D", 0))), "band_order"),
    (S.Scheme((WAIT, SAT, COMPL), (S.Band("A", quota=0.5), S.Band("D", quota=0.4)), method=S.QUOTAS), "quota_total"),
    (S.Scheme((S.Indicator("w", 50, S.LOWER, full_at=0.5, zero_at=0.1), SAT, COMPL), BANDS), "thresholds:w"),
])
def test_check_scheme_names_the_fault(scheme, fault):
    assert fault in S.check_scheme(scheme)


def test_the_example_scheme_is_sound():
    assert S.check_scheme(SCHEME) == [] and S.check_scheme(QUOTAS) == []
