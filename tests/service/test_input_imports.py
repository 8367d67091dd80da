"""Imports of teller-evaluator ratings, survey scores and call-centre figures: every bad row named,
all or nothing, idempotent, clashes refused, encodings strict, scope."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied
from openpyxl import Workbook

from branchops.core import clock
from branchops.org import services as org
from branchops.org.models import Staff
from branchops.service import services
from branchops.service.inputs import CallCentreDay, InputImport, SurveyScore, TellerRating


def day(n: int):
    """A day ``n`` days before the clock's today."""
    return clock.today() - timedelta(days=n)


def csv_bytes(rows, encoding="utf-8") -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in rows).encode(encoding)


def xlsx_bytes(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


RATING_H = ["网点代码", "柜员号", "评价时间", "评价结果"]


@pytest.fixture
def sec(bank):
    staff = Staff.objects.get(user=bank.users["staff11"])
    org.save_staff(None, staff, teller_no="T1101")
    return bank.users["sec1"]


def ratings(bank, sec, rows, name="ratings.csv", dry_run=False, maker=csv_bytes):
    return services.import_inputs(sec, kind="ratings", branch=bank.branch, data=maker([RATING_H, *rows]),
                                  file_name=name, dry_run=dry_run)


def rating_rows():
    d = day(3).isoformat()
    return [["SZ0101", "T1101", f"{d} 09:30:00", "5"], ["SZ0101", "T1101", f"{d} 09:45:00", "满意"],
            ["SZ0102", "T9999", f"{d} 10:00:00", "不满意"]]


def test_ratings_import_maps_tellers_and_keeps_unknown_ones_unmapped(bank, sec):
    plan = ratings(bank, sec, rating_rows())
    assert plan.ok, plan.errors
    assert plan.as_dict()["added"] == 3 and plan.unmapped == ["T9999"]
    stored = {r.teller_no: r for r in TellerRating.objects.all()}
    assert stored["T1101"].staff.user == bank.users["staff11"]
    assert stored["T9999"].staff is None and stored["T9999"].rating == 2
    batch = InputImport.objects.get()
    assert (batch.rows, batch.added, batch.unchanged, batch.unmapped, batch.imported_by) == (3, 3, 0, 1, sec)


def test_same_file_twice_changes_nothing_and_xlsx_reads_the_same(bank, sec):
    assert ratings(bank, sec, rating_rows()).ok
    again = ratings(bank, sec, rating_rows(), name="ratings.xlsx", maker=xlsx_bytes)
    assert again.ok, again.errors
    assert again.as_dict()["added"] == 0 and again.unchanged == 3
    assert TellerRating.objects.count() == 3


def test_a_different_value_for_a_stored_key_is_refused(bank, sec):
    assert ratings(bank, sec, rating_rows()).ok
    rows = rating_rows()
    rows[1][3] = "1"
    plan = ratings(bank, sec, rows)
    assert not plan.ok
    assert [(e.line, e.field) for e in plan.errors] == [(3, "评价结果")]
    assert list(TellerRating.objects.values_list("rating", flat=True).order_by("rated_at")) == [5, 4, 2]


def test_every_bad_row_is_named_and_nothing_is_written(bank, sec):
    d = day(2).isoformat()
    future = (clock.today() + timedelta(days=2)).isoformat()
    rows = [
        ["SZ0101", "T1101", f"{d} 09:30:00", "5"],        # line 2: good
        ["SZ9999", "T1101", f"{d} 09:30:00", "5"],        # line 3: unknown outlet
        ["SZ0101", "T 1", f"{d} 09:31:00", "5"],          # line 4: bad teller number
        ["SZ0101", "T1101", "yesterday", "5"],            # line 5: bad time
        ["SZ0101", "T1101", f"{d} 09:32:00", "8"],        # line 6: bad rating
        ["SZ0101", "T1101", f"{future} 09:00:00", "5"],   # line 7: future
        ["SZ0101", "T1101", f"{d} 09:30:00", "3"],        # line 8: same key as line 2, other value
        ["SZ0101", "", f"{d} 09:33:00", "5"],             # line 9: missing teller
    ]
    plan = ratings(bank, sec, rows)
    assert [(e.line, e.field) for e in plan.errors] == [
        (3, "网点代码"), (4, "柜员号"), (5, "评价时间"), (6, "评价结果"), (7, "评价时间"), (8, "评价时间"), (9, "柜员号")]
    assert all(e.message for e in plan.errors)
    assert not TellerRating.objects.exists() and not InputImport.objects.exists()


def test_dry_run_previews_without_writing(bank, sec):
    plan = ratings(bank, sec, rating_rows(), dry_run=True)
    assert plan.ok and plan.dry_run and plan.as_dict()["added"] == 3
    assert not TellerRating.objects.exists()


def test_gb18030_csv_is_read_and_mixed_encodings_are_refused(bank, sec):
    rows = rating_rows()
    plan = services.import_inputs(sec, kind="ratings", branch=bank.branch, file_name="r.csv",
                                  data=csv_bytes([RATING_H, *rows], "gb18030"), dry_run=False)
    assert plan.ok, plan.errors
    mixed = csv_bytes([RATING_H], "utf-8") + b"\n" + csv_bytes(rows, "gb18030")
    plan = services.import_inputs(sec, kind="ratings", branch=bank.branch, file_name="r.csv", data=mixed)
    assert not plan.ok and plan.errors[0].line == 3


@pytest.mark.parametrize("data, name, line", [
    (b"", "r.csv", 1),
    (csv_bytes([["网点代码", "柜员号"], ["SZ0101", "T1"]]), "r.csv", 1),
    (b"not a workbook", "r.xlsx", 0),
    (b"x", "r.pdf", 0),
])
def test_unreadable_files_are_refused_with_a_message(bank, sec, data, name, line):
    plan = services.import_inputs(sec, kind="ratings", branch=bank.branch, data=data, file_name=name)
    assert not plan.ok and plan.errors[0].line == line and plan.errors[0].message


def test_only_the_secretariat_and_administrators_import_in_their_scope(bank, sec):
    for user in ("staff11", "head11", "sb1mgr", "leader1"):
        with pytest.raises(PermissionDenied):
            ratings(bank, bank.users[user], rating_rows())
    assert ratings(bank, bank.users["admin1"], rating_rows(), dry_run=True).ok


def test_outlets_of_another_branch_are_refused(bank, sec):
    other = org.save_institution(None, code="GZ", name="广州分行", level="tier1_branch", parent=bank.ho)
    org.save_institution(None, code="GZ01", name="广州网点", level="outlet", parent=other)
    plan = ratings(bank, sec, [["GZ01", "T1", f"{day(1)} 09:00:00", "5"]])
    assert [(e.line, e.field) for e in plan.errors] == [(2, "网点代码")]


SURVEY_H = ["网点代码", "期间", "得分", "样本量"]


def test_survey_scores(bank, sec):
    year = clock.today().year - 1
    rows = [SURVEY_H, ["SZ0101", f"{year}Q4", "92.5", "120"], ["SZ0102", f"{year}年第4季度", 88, 80],
            ["SZ0201", f"{year}Q5", "90", "10"], ["SZ0201", f"{year}Q4", "101", "10"],
            ["SZ0201", f"{year}Q3", "90", "0"]]
    plan = services.import_inputs(sec, kind="surveys", branch=bank.branch, data=csv_bytes(rows), file_name="s.csv", dry_run=False)
    assert [(e.line, e.field) for e in plan.errors] == [(4, "期间"), (5, "得分"), (6, "样本量")]
    plan = services.import_inputs(sec, kind="surveys", branch=bank.branch, data=csv_bytes(rows[:3]),
                                  file_name="s.csv", dry_run=False)
    assert plan.ok and SurveyScore.objects.count() == 2
    clash = [SURVEY_H, ["SZ0101", f"{year}Q4", "90", "120"]]
    plan = services.import_inputs(sec, kind="surveys", branch=bank.branch, data=csv_bytes(clash), file_name="s.csv", dry_run=False)
    assert [(e.line, e.field) for e in plan.errors] == [(2, "得分")]


CALL_H = ["日期", "呼入量", "接通量", "20秒内接通量"]


def test_call_centre_days(bank, sec):
    rows = [CALL_H, [day(2).isoformat(), 1000, 920, 640], [day(1).isoformat(), 1000, 1001, 10],
            [day(3).isoformat(), 100, 90, 95], [day(4).isoformat(), "-5", 0, 0],
            [day(5).isoformat(), "Infinity", "NaN", "1e30"]]
    plan = services.import_inputs(sec, kind="call_centre", branch=bank.branch, data=csv_bytes(rows),
                                  file_name="c.csv", dry_run=False)
    assert [(e.line, e.field) for e in plan.errors] == [
        (3, "接通量"), (4, "20秒内接通量"), (5, "呼入量"), (6, "呼入量"), (6, "接通量"), (6, "20秒内接通量")]
    assert not CallCentreDay.objects.exists()
    plan = services.import_inputs(sec, kind="call_centre", branch=bank.branch, data=csv_bytes(rows[:2]),
                                  file_name="c.csv", dry_run=False)
    assert plan.ok and CallCentreDay.objects.get().answered_20s == 640
