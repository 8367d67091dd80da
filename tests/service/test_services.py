"""Grading runs through the services: gathering, missing inputs, adjustments, the state machine,
replay, rectifications for grade D, frozen schemes and scope."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.cases.models import Case, CaseType
from branchops.core import clock
from branchops.core.models import TimelineEntry
from branchops.service import queries, services
from branchops.service.models import GradingRun, GradingScheme, RunInput

pytestmark = pytest.mark.django_db


def run_for(b, actor="sec1"):
    return services.create_run(b.users[actor], branch=b.branch, year=b.year, quarter=b.quarter)


def value(run, outlet, code):
    return RunInput.objects.get(run=run, outlet=outlet, code=code).value


def grade(run, outlet):
    return run.grades.get(outlet=outlet)


def test_default_scheme_has_three_dimensions_eight_indicators_totalling_100(db):
    scheme = GradingScheme.objects.get(code="default", version=1)
    assert [d.code for d in scheme.dimensions.all()] == ["baseline", "satisfaction", "conformance"]
    assert scheme.indicators.count() == 8
    assert sum(i.weight for i in scheme.indicators.all()) == 100
    assert services.scheme_errors(scheme) == []


def test_a_run_with_nothing_gathered_shows_every_input_missing(grading):
    run = run_for(grading)
    assert run.status == "draft" and run.scheme.code == "default"
    assert run.grades.count() == 3
    g = grade(run, grading.o11)
    # No ticket logs and no customers served: the complaints per 10,000 cannot be computed either.
    assert g.total is None and g.grade == "" and len(g.missing) == 8
    assert value(run, grading.o11, "complaints") == 0
    assert value(run, grading.o11, "complaints_per_10k") is None


def test_queue_and_complaint_figures_come_from_their_queries(queue_data, complain):
    from branchops.queueing import queries as queue

    b = queue_data
    complain(b.o11)
    complain(b.o11, day=20)
    complain(b.o12, day=-5)  # the quarter before: not counted
    run = run_for(b)
    kpi = {r["unit"]: r for r in queue.kpi_table(b.users["sec1"], b.start, b.end, level="outlet", within=b.branch)}
    assert float(value(run, b.o11, "overtime_wait_ratio")) == pytest.approx(kpi["SZ0101"]["overtime_ratio"], abs=1e-6)
    assert float(value(run, b.o11, "customers_served")) == kpi["SZ0101"]["served"]
    assert value(run, b.o11, "complaints") == 2 and value(run, b.o12, "complaints") == 0
    assert float(value(run, b.o11, "complaints_per_10k")) == pytest.approx(2 * 10000 / kpi["SZ0101"]["served"],
                                                                           abs=1e-5)
    g = grade(run, b.o11)
    assert g.total is not None and g.grade in "ABCD" and g.rank is not None
    assert "overtime_wait_ratio" not in g.missing and "inspection_score" in g.missing
    evidence = RunInput.objects.get(run=run, outlet=b.o11, code="overtime_wait_ratio").evidence
    assert evidence.startswith("/queueing/outlets/SZ0101/")


def test_adjust_a_value_with_a_reason_regrades_and_is_audited(queue_data):
    b = queue_data
    run = run_for(b)
    before = grade(run, b.o11).total
    row = services.adjust_input(b.users["sec1"], run, outlet=b.o11, code="inspection_score", value="98",
                                reason="现场检查 98 分（纸质记录）", expected_version=run.version)
    assert row.adjusted and row.value == 98 and row.gathered_value is None and row.source == "manual"
    g = grade(run, b.o11)
    assert "inspection_score" not in g.missing and g.total != before
    assert TimelineEntry.objects.filter(verb="input_adjusted", object_id=str(run.pk)).exists()
    assert row.history.get().history_user == b.users["sec1"]  # who changed what, and when
    # Gathering again keeps the adjusted value.
    services.refresh_run(b.users["sec1"], GradingRun.objects.get(pk=run.pk))
    assert value(run, b.o11, "inspection_score") == 98


@pytest.mark.parametrize("kwargs, field", [
    ({"code": "inspection_score", "value": "98", "reason": "  "}, "reason"),
    ({"code": "no_such_input", "value": "1", "reason": "x"}, "code"),
    ({"code": "customers_served", "value": "1", "reason": "x"}, "code"),  # evidence, not an input to adjust
    ({"code": "inspection_score", "value": "abc", "reason": "x"}, "value"),
    ({"code": "inspection_score", "value": "-3", "reason": "x"}, "value"),
    ({"code": "inspection_score", "value": "NaN", "reason": "x"}, "value"),
])
def test_bad_adjustments_name_the_field_and_change_nothing(grading, kwargs, field):
    run = run_for(grading)
    with pytest.raises(ValidationError) as exc:
        services.adjust_input(grading.users["sec1"], run, outlet=grading.o11, **kwargs)
    assert field in exc.value.message_dict
    assert not RunInput.objects.filter(run=run, adjusted=True).exists()
    assert GradingRun.objects.get(pk=run.pk).version == 1


@pytest.mark.date_sensitive
def test_state_machine_and_four_eyes(grading):
    b = grading
    run = run_for(b)
    with pytest.raises(ValidationError):
        services.publish_run(b.users["sec1"], run)  # not reviewed yet
    run = services.review_run(b.users["sec1"], run, expected_version=run.version)
    assert run.status == "reviewed" and run.reviewed_by == b.users["sec1"]
    with pytest.raises(ValidationError):
        services.adjust_input(b.users["sec1"], run, outlet=b.o11, code="inspection_score", value=90, reason="x")
    with pytest.raises(ValidationError):
        services.publish_run(b.users["sec1"], run)  # the reviewer does not publish
    with pytest.raises(ValidationError):
        services.publish_run(b.users["sec2"], run, expected_version=run.version - 1)  # stale page
    run = services.publish_run(b.users["sec2"], run, expected_version=run.version)
    assert run.status == "published" and run.published_by == b.users["sec2"]
    for move in (services.review_run, services.refresh_run):
        with pytest.raises(ValidationError):
            move(b.users["sec1"], run)


def test_only_the_secretariat_in_scope_runs_grading(grading):
    b = grading
    for who in ("head11", "leader1", "sb1mgr"):
        with pytest.raises(PermissionDenied):
            run_for(b, who)
    assert not GradingRun.objects.exists()
    run = run_for(b)
    with pytest.raises(PermissionDenied):
        services.review_run(b.users["head11"], run)


def test_bad_run_requests_name_the_field(grading):
    b = grading
    future = clock.today() + timedelta(days=100)
    cases = [({"branch": b.o11, "year": b.year, "quarter": b.quarter}, "branch"),
             ({"branch": b.branch, "year": b.year, "quarter": 5}, "quarter"),
             ({"branch": b.branch, "year": future.year, "quarter": (future.month - 1) // 3 + 1}, "quarter")]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as exc:
            services.create_run(b.users["sec1"], **kwargs)
        assert field in exc.value.message_dict
    run_for(b)
    with pytest.raises(ValidationError) as exc:
        run_for(b)
    assert "quarter" in exc.value.message_dict


def _publish(b, run):
    run = services.review_run(b.users["sec1"], run)
    return services.publish_run(b.users["sec2"], run)


def test_publish_opens_a_rectification_for_grade_d_only(queue_data):
    b = queue_data
    run = run_for(b)
    services.adjust_input(b.users["sec1"], run, outlet=b.o21, code="media_major_complaint", value=1,
                          reason="重大投诉经媒体曝光")
    assert grade(run, b.o21).grade == "D" and grade(run, b.o21).vetoes == ["media_major_complaint"]
    d_outlets = set(run.grades.filter(grade="D").values_list("outlet_id", flat=True))
    run = _publish(b, GradingRun.objects.get(pk=run.pk))
    cases = Case.objects.filter(case_type=CaseType.RECTIFICATION, channel="grading")
    assert set(cases.values_list("institution_id", flat=True)) == d_outlets
    g = grade(run, b.o21)
    assert g.rectification is not None and g.rectification.institution == b.o21
    assert g.rectification.links.filter(object_id=str(run.pk)).exists()
    assert grade(run, b.o11).rectification is None or grade(run, b.o11).grade == "D"


def test_published_run_replays_to_the_same_grades(queue_data, complain):
    b = queue_data
    complain(b.o12)
    run = run_for(b)
    services.adjust_input(b.users["sec1"], run, outlet=b.o12, code="survey_satisfaction", value=88, reason="问卷")
    run = _publish(b, GradingRun.objects.get(pk=run.pk))
    assert services.replay_matches(run)
    stored = {g.outlet.code: (float(g.total), g.grade, g.rank) for g in run.grades.select_related("outlet")}
    assert {r.outlet: (r.total, r.grade, r.rank) for r in services.replay_run(run)} == stored
    # New complaints after publishing do not change a published run's replay (it reads stored inputs).
    complain(b.o11)
    assert services.replay_matches(run)
    # A tampered grade is caught.
    run.grades.filter(outlet=b.o12).update(grade="A" if stored["SZ0102"][1] != "A" else "B")
    assert not services.replay_matches(run)


def test_a_scheme_used_by_a_published_run_is_frozen(grading):
    b = grading
    run = _publish(b, run_for(b))
    scheme = run.scheme
    indicator = scheme.indicators.get(code="overtime_wait_ratio")
    with pytest.raises(ValidationError):
        services.update_indicator(b.users["sec1"], indicator, weight=30)
    new = services.new_scheme_version(b.users["sec1"], scheme, b.end + timedelta(days=1))
    assert new.version == 2 and new.indicators.count() == 8
    services.update_indicator(b.users["sec1"], new.indicators.get(code="overtime_wait_ratio"), full_at="0.04")
    scheme.refresh_from_db()
    assert scheme.effective_to == b.end
    # The published run keeps the version it used; the next quarter takes the new one.
    assert GradingRun.objects.get(pk=run.pk).scheme_id == scheme.pk
    assert services.scheme_for(b.end + timedelta(days=1)) == new
    assert services.scheme_for(b.start) == scheme


def test_scope_of_reads(grading):
    b = grading
    run = run_for(b)
    # A draft is the secretariat's: outlets do not see it.
    assert not queries.visible_runs(b.users["head11"]).exists()
    assert queries.visible_runs(b.users["leader1"]).filter(pk=run.pk).exists()
    run = _publish(b, run)
    head = b.users["head11"]
    assert queries.visible_runs(head).filter(pk=run.pk).exists()
    assert [g.outlet for g in queries.run_grades(head, run)] == [b.o11]
    assert {g.outlet for g in queries.run_grades(b.users["sb1mgr"], run)} == {b.o11, b.o12}
    assert queries.run_grades(b.users["leader1"], run).count() == 3


def test_movers_compare_with_the_previous_published_quarter(queue_data):
    b = queue_data
    run = _publish(b, run_for(b))
    year, quarter = services.previous_quarter(b.year, b.quarter)
    # A previous quarter graded from manual figures, with o21 on top and o11 at the bottom.
    prev = services.create_run(b.users["sec1"], branch=b.branch, year=year, quarter=quarter)
    for outlet, score in ((b.o21, 99), (b.o12, 80), (b.o11, 60)):
        services.adjust_input(b.users["sec1"], prev, outlet=outlet, code="inspection_score", value=score, reason="补录")
    prev = _publish(b, GradingRun.objects.get(pk=prev.pk))
    assert queries.previous_run(run) == prev
    moves = queries.movers(b.users["leader1"], run)
    ranks_now = {g.outlet_id: g.rank for g in run.grades.all()}
    ranks_before = {g.outlet_id: g.rank for g in prev.grades.all()}
    expected_up = {o for o in ranks_now if ranks_now[o] < ranks_before[o]}
    assert {m["outlet"].pk for m in moves["up"]} == expected_up
    trend = queries.outlet_trend(b.users["head11"], b.o11)
    assert [t["quarter"] for t in trend] == [prev.label, run.label]


def test_the_scheme_decides_quotas_and_the_missing_rule(grading):
    """Grading method and missing-input rule are the scheme's data (edited as an administrator would,
    before any run used it)."""
    from branchops.service.models import GradeBand

    b = grading
    scheme = GradingScheme.objects.get(code="default", version=1)
    GradeBand.objects.filter(scheme=scheme).update(min_score=None, quota="0.25")
    GradingScheme.objects.filter(pk=scheme.pk).update(method="quotas", missing_rule="fixed", missing_share="0.5")
    run = run_for(b)
    # Every input missing: each indicator gets half its weight by the fixed rule.
    assert {float(g.total) for g in run.grades.all()} == {50.0}
    assert {g.grade for g in run.grades.all()} == {"A"}  # all tied: the better grade, never by order
    for outlet, score in ((b.o11, 95), (b.o12, 80), (b.o21, 60)):
        services.adjust_input(b.users["sec1"], run, outlet=outlet, code="inspection_score", value=score, reason="补录")
    grades = {g.outlet_id: (float(g.total), g.rank, g.grade) for g in run.grades.all()}
    # inspection 20 points: 95 → 20, 80 → (80-60)/35×20 = 11.43, 60 → 0; the other 80 points at half: 40.
    assert grades == {b.o11.pk: (60.0, 1, "A"), b.o12.pk: (51.43, 2, "B"), b.o21.pk: (40.0, 3, "D")}
