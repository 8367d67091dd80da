"""The service-grading pages: list and open a run, the run page (distribution, ranking, actions), the
outlet breakdown (scope), adjusting and publishing through the page, and the xlsx export."""

from io import BytesIO

import pytest
from openpyxl import load_workbook

from branchops.service import services
from branchops.service.models import GradingRun, RunInput

pytestmark = pytest.mark.django_db


def make_run(b):
    return services.create_run(b.users["sec1"], branch=b.branch, year=b.year, quarter=b.quarter)


def test_secretariat_opens_a_run_from_the_page(login, grading):
    b = grading
    c = login(b.users["sec1"])
    page = c.get("/service/")
    assert page.status_code == 200 and b'name="quarter"' in page.content
    assert "发起季度评价" in page.content.decode()  # Chinese by default
    r = c.post("/service/runs/new/", {"branch": b.branch.pk, "year": b.year, "quarter": b.quarter})
    run = GradingRun.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/service/runs/{run.pk}/"
    page = c.get(r["Location"])
    html = page.content.decode()
    assert 'data-outlet="SZ0101"' in html and 'data-action="review"' in html and "data-missing" in html
    # A second run for the same quarter is refused with a message, nothing created.
    r = c.post("/service/runs/new/", {"branch": b.branch.pk, "year": b.year, "quarter": b.quarter}, follow=True)
    assert GradingRun.objects.count() == 1 and "alert" in r.content.decode()


def test_outlet_head_has_no_run_form_and_sees_no_draft(login, grading):
    b = grading
    run = make_run(b)
    c = login(b.users["head11"])
    page = c.get("/service/")
    assert page.status_code == 200 and b'name="quarter"' not in page.content
    assert c.get(f"/service/runs/{run.pk}/").status_code == 404
    assert c.post("/service/runs/new/", {"branch": b.branch.pk, "year": b.year, "quarter": b.quarter}).status_code \
        == 403
    # The branch leader reads; posting the form is refused as the API refuses it.
    assert login(b.users["leader1"]).post("/service/runs/new/", {"branch": b.branch.pk, "year": b.year,
                                                                 "quarter": b.quarter}).status_code == 403
    assert GradingRun.objects.count() == 1


def test_adjust_review_publish_through_the_pages(login, grading):
    b = grading
    run = make_run(b)
    c = login(b.users["sec1"])
    outlet_url = f"/service/runs/{run.pk}/outlets/{b.o11.pk}/"
    page = c.get(outlet_url)
    assert b'data-action="adjust"' in page.content
    r = c.post(f"/service/runs/{run.pk}/adjust/", {"version": run.version, "outlet": b.o11.pk,
                                                   "code": "inspection_score", "value": "92", "reason": "现场检查",
                                                   "next": outlet_url})
    assert r.status_code == 302 and r["Location"] == outlet_url
    assert RunInput.objects.get(run=run, outlet=b.o11, code="inspection_score").value == 92
    # Without a reason: refused with a message naming the field, nothing changed.
    r = c.post(f"/service/runs/{run.pk}/adjust/", {"outlet": b.o11.pk, "code": "evaluation_rate", "value": "0.5",
                                                   "reason": ""}, follow=True)
    assert "alert-danger" in r.content.decode()
    assert RunInput.objects.get(run=run, outlet=b.o11, code="evaluation_rate").value is None
    run.refresh_from_db()
    c.post(f"/service/runs/{run.pk}/review/", {"version": run.version})
    run.refresh_from_db()
    assert run.status == "reviewed"
    assert b'data-action="publish"' not in c.get(f"/service/runs/{run.pk}/").content  # the reviewer
    refused = c.post(f"/service/runs/{run.pk}/publish/", {"version": run.version}, follow=True)
    assert "alert-danger" in refused.content.decode()
    run.refresh_from_db()
    assert run.status == "reviewed"
    c2 = login(b.users["sec2"])
    assert b'data-action="publish"' in c2.get(f"/service/runs/{run.pk}/").content
    c2.post(f"/service/runs/{run.pk}/publish/", {"version": run.version})
    run.refresh_from_db()
    assert run.status == "published"


def test_outlet_sees_its_own_breakdown_only(login, grading):
    b = grading
    run = make_run(b)
    services.adjust_input(b.users["sec1"], run, outlet=b.o11, code="evaluation_rate", value="0.1", reason="评价器")
    services.adjust_input(b.users["sec1"], run, outlet=b.o11, code="teller_satisfaction", value="0.99",
                          reason="评价器")
    run = services.review_run(b.users["sec1"], GradingRun.objects.get(pk=run.pk))
    run = services.publish_run(b.users["sec2"], run)
    c = login(b.users["head11"])
    page = c.get(f"/service/runs/{run.pk}/outlets/{b.o11.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "data-unreliable" in html and "data-rank" in html
    assert 'data-trend="' in html and "service-trend-chart" in html and 'data-action="adjust"' not in html
    assert c.get(f"/service/runs/{run.pk}/outlets/{b.o21.pk}/").status_code == 404
    listing = c.get(f"/service/runs/{run.pk}/").content.decode()
    assert 'data-outlet="SZ0101"' in listing and 'data-outlet="SZ0201"' not in listing
    assert c.post(f"/service/runs/{run.pk}/return/").status_code == 403


def test_export_lists_the_outlets_in_scope(login, grading):
    b = grading
    run = make_run(b)
    wb = load_workbook(BytesIO(login(b.users["sec1"]).get(f"/service/runs/{run.pk}/export/").content))
    rows = list(wb.active.iter_rows(values_only=True))
    assert len(rows) == 4 and {r[1] for r in rows[1:]} == {"SZ0101", "SZ0102", "SZ0201"}


def test_english_page(login, grading, english_messages):
    b = grading
    run = make_run(b)
    html = login(b.users["sec1"]).get(f"/service/runs/{run.pk}/").content.decode()
    assert "Distribution A–D" in html and "Ranking" in html


def test_schemes_page_shows_the_default_scheme(login, grading):
    html = login(grading.users["head11"]).get("/service/schemes/").content.decode()
    assert 'data-scheme="default-1"' in html and html.count("data-indicator=") == 8
    assert "基准度" in html and "重大投诉且经媒体曝光" in html


def test_secretariat_makes_a_new_scheme_version_from_the_page(login, grading):
    from branchops.service.models import GradingScheme

    b = grading
    scheme = GradingScheme.objects.get(code="default", version=1)
    assert b"data-new-version" not in login(b.users["head11"]).get("/service/schemes/").content
    assert login(b.users["head11"]).post(f"/service/schemes/{scheme.pk}/version/",
                                         {"effective_from": b.end.isoformat()}).status_code == 403
    c = login(b.users["sec1"])
    assert b"data-new-version" in c.get("/service/schemes/").content
    bad = c.post(f"/service/schemes/{scheme.pk}/version/", {"effective_from": "2019-01-01"}, follow=True)
    assert "alert-danger" in bad.content.decode() and GradingScheme.objects.count() == 1
    c.post(f"/service/schemes/{scheme.pk}/version/", {"effective_from": b.end.isoformat()})
    assert GradingScheme.objects.filter(code="default", version=2, effective_from=b.end).exists()


def test_home_lists_runs_waiting_for_the_secretariat(login, grading):
    b = grading
    run = make_run(b)
    assert f"/service/runs/{run.pk}/" in login(b.users["sec1"]).get("/").content.decode()
    assert f"/service/runs/{run.pk}/" not in login(b.users["head11"]).get("/").content.decode()


def test_branch_view_distribution_and_movers(login, grading):
    b = grading
    year, quarter = services.previous_quarter(b.year, b.quarter)
    runs = []
    for (y, q), scores in (((year, quarter), (60, 80, 99)), ((b.year, b.quarter), (99, 80, 60))):
        run = services.create_run(b.users["sec1"], branch=b.branch, year=y, quarter=q)
        for outlet, score in zip((b.o11, b.o12, b.o21), scores, strict=True):
            services.adjust_input(b.users["sec1"], run, outlet=outlet, code="inspection_score", value=score,
                                  reason="补录")
        run = services.review_run(b.users["sec1"], GradingRun.objects.get(pk=run.pk))
        runs.append(services.publish_run(b.users["sec2"], run))
    html = login(b.users["leader1"]).get(f"/service/runs/{runs[1].pk}/").content.decode()
    assert 'data-mover-up="SZ0101"' in html and 'data-mover-down="SZ0201"' in html
    assert 'data-distribution="A">1<' in html and 'data-distribution="D">2<' in html  # 100; 57.15 and 0
    assert 'id="service-run-chart"' in html
    # The outlet's page shows its trend over both quarters; the sub-branch view has no branch figures.
    page = login(b.users["head11"]).get(f"/service/runs/{runs[1].pk}/outlets/{b.o11.pk}/").content.decode()
    assert f'data-trend="{runs[0].label}"' in page and f'data-trend="{runs[1].label}"' in page
    assert "data-mover-up" not in login(b.users["sb1mgr"]).get(f"/service/runs/{runs[1].pk}/").content.decode()
