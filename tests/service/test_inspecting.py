"""The pure inspection engine: scoring with N/A and vetoes, answer faults, Cohen's κ by hand."""

import pytest

from branchops.service import inspecting as eng
from branchops.service.inspecting import FAIL, NA, PASS, Item

ITEMS = [Item("a", 5), Item("b", 3, na_allowed=True), Item("c", 2, veto=True)]


def test_score_is_the_weighted_share_of_applicable_items():
    # b is N/A: out of a + c = 7, a (5) passed → 71.43
    result = eng.score(ITEMS, {"a": PASS, "b": NA, "c": FAIL})
    assert result.total == pytest.approx(71.43)
    assert result.vetoed is True and result.failed == ("c",)


def test_all_passed_is_100_and_all_na_is_no_score():
    assert eng.score(ITEMS, {"a": PASS, "b": PASS, "c": PASS}) == eng.Score(100.0, False, ())
    assert eng.score([Item("b", 3, na_allowed=True)], {"b": NA}).total is None


def test_failed_non_veto_item_does_not_flag():
    result = eng.score(ITEMS, {"a": FAIL, "b": PASS, "c": PASS})
    assert result.total == 50.0 and not result.vetoed


def test_answer_faults_name_each_item():
    faults = eng.answer_faults(ITEMS, {"a": NA, "b": "maybe", "zz": PASS})
    assert faults == {"a": "na_not_allowed", "b": "invalid", "c": "missing", "zz": "unknown"}
    assert eng.answer_faults(ITEMS, {"a": PASS, "b": NA, "c": FAIL}) == {}


def test_cohen_kappa_hand_computed():
    # 10 items: both pass 6, both fail 2, A pass/B fail 1, A fail/B pass 1.
    a = [PASS] * 6 + [FAIL] * 2 + [PASS, FAIL]
    b = [PASS] * 6 + [FAIL] * 2 + [FAIL, PASS]
    # p_o = 0.8; A: pass 7 fail 3; B: pass 7 fail 3; p_e = .49 + .09 = .58; κ = .22 / .42 = 0.5238
    assert eng.cohen_kappa(a, b) == pytest.approx(0.5238, abs=1e-4)
    assert eng.cohen_kappa([PASS, PASS], [PASS, PASS]) is None  # chance agreement certain: undefined
    assert eng.cohen_kappa([], []) is None


def test_agreement_of_a_sample_inspected_twice():
    pairs = [((90.0, {"a": PASS, "b": PASS}), (80.0, {"a": PASS, "b": FAIL})),
             ((70.0, {"a": FAIL, "b": PASS}), (76.0, {"a": FAIL, "b": PASS}))]
    result = eng.agreement(pairs)
    assert result.pairs == 2 and result.mean_abs_diff == 8.0
    assert result.item_agreement == 0.75
    # A: pass 3 fail 1; B: pass 2 fail 2; p_o .75; p_e = (3*2 + 1*2)/16 = .5; κ = .5
    assert result.kappa == 0.5
