"""xlsx import and export of the organisation: round trip, creates, updates, every bad row, API, page, CLI."""

from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from openpyxl import Workbook, load_workbook

from branchops.core.models import TimelineEntry
from branchops.org import importer
from branchops.org import services as org
from branchops.org.importer import export_workbook, import_workbook
from branchops.org.models import BusinessHours, Cluster, Department, Institution, Level, Staff
from branchops.org.roles import Role, user_roles

User = get_user_model()

INST_H = ["机构代码", "机构名称", "层级", "上级机构代码", "网点类型", "集群代码", "集群角色", "柜台数", "周一"]
DEPT_H = ["所属机构代码", "部门代码", "部门名称", "业务部门", "评议部门", "秘书处"]
PEOPLE_H = ["员工号", "姓名", "用户名", "所属机构代码", "部门代码", "岗位", "角色"]

NEW_OUTLET = ["SZ0103", "福田新网点", "网点", "SZ01", "light", "", "", 2, "09:00-17:00"]
NEW_DEPT = ["SZ", "HR", "人力资源部", "是", "否", "否"]
NEW_PERSON = ["P001", "张三", "", "SZ0101", "OPS", "teller", "网点员工"]


def xlsx(sheets: dict[str, list[list]]) -> BytesIO:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def inst(*rows):
    return {"机构": [INST_H, *rows]}


def dept(*rows):
    return {"部门": [DEPT_H, *rows]}


def people(*rows):
    return {"人员": [PEOPLE_H, *rows]}


def saved(wb) -> BytesIO:
    buf = BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def snapshot():
    return (
        Institution.objects.count(), Department.objects.count(), Staff.objects.count(), Cluster.objects.count(),
        BusinessHours.objects.count(), User.objects.count(), Institution.history.count(),
        Department.history.count(), Staff.history.count(), TimelineEntry.objects.count(),
    )


@pytest.fixture
def admin(bank):
    return bank.users["admin1"]


# -- round trip --------------------------------------------------------------------------------


def test_round_trip_is_unchanged(bank, admin):
    org.set_business_hours(None, bank.o11, {d: (org.parse_hours("09:00-17:00")) for d in range(5)})
    org.set_business_hours(None, bank.o12, {0: org.parse_hours("08:30-12:00")})
    before = snapshot()
    result = import_workbook(admin, saved(export_workbook(admin)), dry_run=False)
    assert result.ok, result.errors
    assert result.changes == []
    assert {s: c["create"] + c["update"] for s, c in result.summary.items()} == {"机构": 0, "部门": 0, "人员": 0}
    assert result.summary["机构"]["unchanged"] == 6  # SZ and below; the head office is out of admin1's scope
    assert result.summary["人员"]["unchanged"] == Staff.objects.filter(institution__path__startswith=bank.branch.path).count()
    assert snapshot() == before


def test_system_round_trip_and_layout(bank):
    wb = export_workbook(None)
    assert wb.sheetnames == ["机构", "部门", "人员"]
    header = [c.value for c in wb["机构"][1]]
    assert header[:4] == ["机构代码", "机构名称", "简称", "层级"] and "周日" in header and header[-1] == "启用"
    rows = {r[0]: r for r in wb["机构"].iter_rows(min_row=2, values_only=True)}
    assert rows["SZ0101"][header.index("层级")] == "网点"
    assert rows["SZ0101"][header.index("集群角色")] == "核心"
    assert rows["SZ0102"][header.index("集群角色")] == "卫星"
    assert rows["SZ0101"][header.index("网点类型")] == "旗舰网点"
    people_rows = {r[0]: r for r in wb["人员"].iter_rows(min_row=2, values_only=True)}
    people_header = [c.value for c in wb["人员"][1]]
    assert people_rows["SEC1"][people_header.index("部门代码")] == "OPS"
    assert people_rows["SEC1"][people_header.index("角色")] == "秘书处"
    result = import_workbook(None, saved(wb), dry_run=False)
    assert result.ok and result.changes == []
    assert result.summary["机构"] == {"create": 0, "update": 0, "unchanged": 7}


def test_export_is_scoped_and_needs_permission(bank):
    wb = export_workbook(bank.users["leader1"])
    codes = {r[0] for r in wb["机构"].iter_rows(min_row=2, values_only=True)}
    assert "HO" not in codes and {"SZ", "SZ0101", "SZ0201"} <= codes
    with pytest.raises(PermissionDenied):
        export_workbook(bank.users["staff11"])


# -- creating and updating -----------------------------------------------------------------------


def test_creates_institutions_departments_and_people(bank, admin):
    book = {
        "机构": [INST_H,
                 # the outlet comes before its new sub-branch: parents are applied first anyway
                 ["SZ0301", "南山网点", "outlet", "SZ03", "旗舰网点", "C02", "hub", "6", "09:00-17:00"],
                 ["SZ03", "南山支行", "支行", "SZ", "", "", "", 0, ""],
                 ["SZ0302", "南山卫星网点", "网点", "SZ03", "light", "C02", "", 2, "休息"]],
        "部门": [DEPT_H, ["SZ03", "RET", "零售部", "是", "", ""]],
        "人员": [PEOPLE_H,
                 ["P100", "李雷", "", "SZ0301", "RET", "柜员", "网点员工、outlet_head"],
                 [200, "韩梅梅", "hanmm", "SZ0302", "OPS", "", ""]],
    }
    result = import_workbook(admin, xlsx(book), dry_run=False)
    assert result.ok, result.errors
    assert result.summary == {"机构": {"create": 3, "update": 0, "unchanged": 0},
                              "部门": {"create": 1, "update": 0, "unchanged": 0},
                              "人员": {"create": 2, "update": 0, "unchanged": 0}}
    outlet = Institution.objects.get(code="SZ0301")
    assert outlet.parent.code == "SZ03" and outlet.level == Level.OUTLET and outlet.counters == 6
    assert outlet.path.startswith(bank.branch.path) and outlet.outlet_type == bank.flagship
    assert outlet.is_hub and outlet.cluster.code == "C02"
    cluster = Cluster.objects.get(code="C02")
    assert cluster.name == "C02集群" and cluster.institution.code == "SZ03"
    assert Institution.objects.get(code="SZ0302").cluster_role == "satellite"
    monday = outlet.business_hours.get(weekday=0)
    assert f"{monday.opens_at:%H:%M}-{monday.closes_at:%H:%M}" == "09:00-17:00"
    assert not Institution.objects.get(code="SZ0302").business_hours.exists()  # 休息 = no hours
    assert Department.objects.get(institution__code="SZ03", code="RET").is_business
    li = Staff.objects.get(staff_no="P100")
    assert li.user.username == "P100" and li.department.code == "RET" and li.post == bank.teller
    assert user_roles(li.user) == [Role.OUTLET_HEAD, Role.OUTLET_STAFF]
    han = Staff.objects.get(staff_no="200")  # typed as a number in Excel
    assert han.user.username == "hanmm" and han.department == bank.ops and user_roles(han.user) == []
    assert Institution.history.filter(code="SZ0301").first().history_user == admin
    created = next(c for c in result.changes if c["key"] == "SZ0301")
    assert created["action"] == "create" and created["sheet"] == "机构" and created["row"] == 2
    assert created["fields"]["柜台数"] == [None, 6]  # named by the sheet's column header


def test_update_lists_old_and_new_and_writes_history(bank, admin):
    book = {"机构": [["机构代码", "柜台数", "对外电话"], ["SZ0102", 5, "0755-1234"], ["SZ0101", 8, ""]],
            "人员": [["员工号", "岗位", "角色"], ["STAFF12", "outlet_head", "网点负责人"]]}
    versions = Institution.history.filter(code="SZ0102").count()
    result = import_workbook(admin, xlsx(book), dry_run=False)
    assert result.ok, result.errors
    assert result.summary["机构"] == {"create": 0, "update": 1, "unchanged": 1}
    change = result.changes[0]
    assert change == {"sheet": "机构", "row": 2, "action": "update", "key": "SZ0102",
                      "fields": {"柜台数": [3, 5], "对外电话": ["", "0755-1234"]}}
    person = result.changes[1]
    assert person["fields"] == {"岗位": ["teller", "outlet_head"], "角色": [["outlet_staff"], ["outlet_head"]]}
    bank.o12.refresh_from_db()
    assert bank.o12.counters == 5 and bank.o12.name == "福田卫星网点"  # absent columns are kept
    assert Institution.history.filter(code="SZ0102").count() == versions + 1
    assert Institution.history.filter(code="SZ0102").first().history_user == admin
    assert TimelineEntry.objects.filter(object_id=str(bank.o12.pk), verb="updated").exists()
    assert user_roles(bank.users["staff12"]) == [Role.OUTLET_HEAD]


def test_moving_the_hub_within_a_cluster(bank, admin):
    book = inst(["SZ0101", "福田中心网点", "网点", "SZ01", "flagship", "C01", "卫星", 8, ""],
                ["SZ0102", "福田卫星网点", "网点", "SZ01", "light", "C01", "核心", 3, ""])
    result = import_workbook(admin, xlsx(book), dry_run=False)
    assert result.ok, result.errors
    bank.o11.refresh_from_db()
    bank.o12.refresh_from_db()
    assert bank.o12.is_hub and not bank.o11.is_hub


def test_moving_an_institution_moves_its_subtree(bank, admin):
    book = inst(["SZ01", "福田支行", "支行", "SZ02", "", "", "", 0, ""])
    assert not import_workbook(admin, xlsx(book)).ok  # a sub-branch under a sub-branch
    book = inst(["SZ01", "福田支行", "tier2_branch", "SZ", "", "", "", 0, ""],
                ["SZ0201", "罗湖网点", "网点", "SZ01", "light", "", "", 4, ""])
    result = import_workbook(admin, xlsx(book), dry_run=False)
    assert result.ok, result.errors
    bank.o21.refresh_from_db()
    bank.sb1.refresh_from_db()
    assert bank.o21.path.startswith(bank.sb1.path)


def test_dry_run_writes_nothing(bank, admin):
    before = snapshot()
    result = import_workbook(admin, xlsx({**inst(NEW_OUTLET), **dept(NEW_DEPT), **people(NEW_PERSON)}))
    assert result.ok and result.dry_run
    assert result.summary["机构"]["create"] == 1 and result.summary["人员"]["create"] == 1
    assert len(result.changes) == 3
    assert snapshot() == before


# -- bad rows ------------------------------------------------------------------------------------

BAD_ROWS = {
    "unknown parent": (inst(NEW_OUTLET, ["SZ0104", "新网点", "网点", "NOPE", "", "", "", 0, ""]),
                       "机构", 3, "上级机构代码"),
    "duplicate institution code": (inst(NEW_OUTLET, NEW_OUTLET), "机构", 3, "机构代码"),
    "missing name": (inst(NEW_OUTLET, ["SZ0104", "", "网点", "SZ01", "", "", "", 0, ""]), "机构", 3, "机构名称"),
    "missing parent": (inst(NEW_OUTLET, ["SZ0104", "x", "网点", "", "", "", "", 0, ""]), "机构", 3, "上级机构代码"),
    "missing level": (inst(NEW_OUTLET, ["SZ0104", "x", "", "SZ01", "", "", "", 0, ""]), "机构", 3, "层级"),
    "bad level": (inst(NEW_OUTLET, ["SZ0104", "x", "分店", "SZ01", "", "", "", 0, ""]), "机构", 3, "层级"),
    "parent not above": (inst(NEW_OUTLET, ["SZ0199", "x", "支行", "SZ0101", "", "", "", 0, ""]),
                         "机构", 3, "上级机构代码"),
    "bad code": (inst(NEW_OUTLET, ["SZ 01", "x", "网点", "SZ01", "", "", "", 0, ""]), "机构", 3, "机构代码"),
    "unknown outlet type": (inst(NEW_OUTLET, ["SZ0104", "x", "网点", "SZ01", "nope", "", "", 0, ""]),
                            "机构", 3, "网点类型"),
    "outlet type on a branch": (inst(NEW_OUTLET, ["SZ09", "x", "支行", "SZ", "light", "", "", 0, ""]),
                                "机构", 3, "网点类型"),
    "bad hours": (inst(NEW_OUTLET, ["SZ0104", "x", "网点", "SZ01", "", "", "", 0, "9点到5点"]), "机构", 3, "周一"),
    "closing before opening": (inst(NEW_OUTLET, ["SZ0104", "x", "网点", "SZ01", "", "", "", 0, "17:00-09:00"]),
                               "机构", 3, "周一"),
    "non-integer counters": (inst(NEW_OUTLET, ["SZ0104", "x", "网点", "SZ01", "", "", "", "three", ""]),
                             "机构", 3, "柜台数"),
    "negative counters": (inst(NEW_OUTLET, ["SZ0104", "x", "网点", "SZ01", "", "", "", -1, ""]), "机构", 3, "柜台数"),
    "bad cluster role": (inst(NEW_OUTLET, ["SZ0104", "x", "网点", "SZ01", "", "C01", "老大", 0, ""]),
                         "机构", 3, "集群角色"),
    "cluster role without cluster": (inst(NEW_OUTLET, ["SZ0104", "x", "网点", "SZ01", "", "", "核心", 0, ""]),
                                     "机构", 3, "集群角色"),
    "second hub for a cluster": (inst(NEW_OUTLET, ["SZ0102", "福田卫星网点", "网点", "SZ01", "light", "C01", "核心", 3, ""]),
                                 "机构", 3, "集群角色"),
    "two hubs for a new cluster": (inst(["SZ0104", "x", "网点", "SZ01", "", "C09", "核心", 0, ""],
                                        ["SZ0105", "y", "网点", "SZ01", "", "C09", "核心", 0, ""]),
                                   "机构", 3, "集群角色"),
    "duplicate staff number": (people(NEW_PERSON, NEW_PERSON), "人员", 3, "员工号"),
    "duplicate user name": (people(NEW_PERSON, ["P002", "李四", "p001", "SZ0101", "", "", ""]), "人员", 3, "用户名"),
    "user name of another person": (people(NEW_PERSON, ["P002", "李四", "sec1", "SZ0101", "", "", ""]),
                                    "人员", 3, "用户名"),
    "staff number taken as a user name": (people(NEW_PERSON, ["admin1", "李四", "", "SZ0101", "", "", ""]),
                                          "人员", 3, "用户名"),
    "user name changed": (people(NEW_PERSON, ["STAFF11", "staff11", "renamed", "SZ0101", "", "teller", "网点员工"]),
                          "人员", 3, "用户名"),
    "missing institution": (people(NEW_PERSON, ["P002", "李四", "", "", "", "", ""]), "人员", 3, "所属机构代码"),
    "institution emptied": ({"人员": [["员工号", "所属机构代码"], ["STAFF11", ""]]}, "人员", 2, "所属机构代码"),
    "name emptied": ({"机构": [["机构代码", "机构名称"], ["SZ0101", ""]]}, "机构", 2, "机构名称"),
    "unknown institution": (people(NEW_PERSON, ["P002", "李四", "", "NOPE", "", "", ""]), "人员", 3, "所属机构代码"),
    "unknown department": (people(NEW_PERSON, ["P002", "李四", "", "SZ0101", "NOPE", "", ""]), "人员", 3, "部门代码"),
    "department not above": (people(NEW_PERSON, ["P002", "李四", "", "SZ0101", "X", "", ""]) | dept(
        ["SZ02", "X", "罗湖部门", "否", "否", "否"]), "人员", 3, "部门代码"),
    "unknown post": (people(NEW_PERSON, ["P002", "李四", "", "SZ0101", "", "nope", ""]), "人员", 3, "岗位"),
    "unknown role": (people(NEW_PERSON, ["P002", "李四", "", "SZ0101", "", "", "网点员工、boss"]), "人员", 3, "角色"),
    "bad e-mail": ({"人员": [["员工号", "邮箱"], ["STAFF11", "not-an-email"]]}, "人员", 2, "邮箱"),
    "department at an outlet": (dept(NEW_DEPT, ["SZ0101", "D1", "x", "否", "否", "否"]), "部门", 3, "所属机构代码"),
    "department of unknown institution": (dept(NEW_DEPT, ["NOPE", "D1", "x", "否", "否", "否"]),
                                          "部门", 3, "所属机构代码"),
    "duplicate department": (dept(NEW_DEPT, NEW_DEPT), "部门", 3, "部门代码"),
    "bad boolean": (dept(NEW_DEPT, ["SZ", "D2", "x", "maybe", "否", "否"]), "部门", 3, "业务部门"),
    "missing required header": ({"人员": [["姓名", "所属机构代码"], ["张三", "SZ0101"]]}, "人员", 1, "员工号"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_row_is_reported_and_nothing_is_written(bank, admin, case):
    book, sheet, row, header = BAD_ROWS[case]
    before = snapshot()
    result = import_workbook(admin, xlsx(book), dry_run=False)
    assert not result.ok
    assert any((e.sheet, e.row, e.field) == (sheet, row, header) for e in result.errors), result.errors
    assert all(e.message for e in result.errors)
    assert snapshot() == before


def test_every_bad_row_is_reported_at_once(bank, admin):
    book = {
        **inst(NEW_OUTLET, ["SZ0104", "x", "网点", "NOPE", "", "", "", 0, ""],
               ["SZ0105", "y", "网点", "SZ01", "", "", "", "many", ""]),
        **people(NEW_PERSON, ["P002", "李四", "", "SZ0101", "", "", "boss"]),
    }
    result = import_workbook(admin, xlsx(book), dry_run=False)
    where = [(e.sheet, e.row, e.field) for e in result.errors]
    assert where == [("机构", 3, "上级机构代码"), ("机构", 4, "柜台数"), ("人员", 3, "角色")]
    assert str(result.errors[-1]).startswith("人员!第3行 角色: ")
    assert not Institution.objects.filter(code="SZ0103").exists()


def test_rows_may_use_english_headers(bank, admin):
    book = {"institutions": [], "机构": [["code", "name", "level", "parent_code"], ["SZ0109", "x", "outlet", "SZ01"]]}
    result = import_workbook(admin, xlsx(book), dry_run=False)
    assert result.ok, result.errors
    assert Institution.objects.get(code="SZ0109").parent == bank.sb1


def test_unreadable_file(bank, admin):
    result = import_workbook(admin, BytesIO(b"this is not a workbook"))
    assert not result.ok and result.errors[0].row == 0 and result.errors[0].message
    result = import_workbook(admin, xlsx({"Sheet1": [["a"]]}))
    assert not result.ok and "人员" in result.errors[0].message


def test_out_of_scope_rows(bank):
    lohu_admin = bank.person("admin2", bank.sb2, [Role.ADMINISTRATOR])
    book = {**inst(["SZ0201", "罗湖网点", "网点", "SZ02", "light", "", "", 5, ""],
                   ["SZ0102", "福田卫星网点", "网点", "SZ01", "light", "C01", "", 9, ""],
                   ["SZ0209", "新网点", "网点", "SZ01", "", "", "", 1, ""]),
            **people(["STAFF12", "staff12", "", "SZ0102", "", "teller", "网点员工"],
                     ["P009", "新人", "", "SZ0101", "", "", ""])}
    before = snapshot()
    result = import_workbook(lohu_admin, xlsx(book), dry_run=False)
    where = {(e.sheet, e.row, e.field) for e in result.errors}
    assert ("机构", 2, "机构代码") not in where  # its own outlet is fine
    assert where == {("机构", 3, "机构代码"), ("机构", 4, "机构代码"), ("人员", 2, "员工号"), ("人员", 3, "所属机构代码")}
    assert all("scope" in e.message or "范围" in e.message for e in result.errors)
    assert [c["key"] for c in result.changes] == ["SZ0201", "SZ0209", "P009"]  # nothing shown of SZ0102, STAFF12
    assert snapshot() == before


def test_import_needs_permission(bank):
    with pytest.raises(PermissionDenied):
        import_workbook(bank.users["staff11"], xlsx(inst(NEW_OUTLET)))


def test_service_refusal_rolls_everything_back(bank, admin, monkeypatch):
    real = importer.save_staff

    def refuse(actor, instance=None, **fields):
        if fields["staff_no"] == "P002":
            raise ValidationError({"email": "refused"})
        return real(actor, instance, **fields)

    monkeypatch.setattr(importer, "save_staff", refuse)
    before = snapshot()
    book = {**inst(NEW_OUTLET), **people(NEW_PERSON, ["P002", "李四", "", "SZ0103", "", "", ""])}
    result = import_workbook(admin, xlsx(book), dry_run=False)
    assert [(e.sheet, e.row, e.field, e.message) for e in result.errors] == [("人员", 3, "邮箱", "refused")]
    assert snapshot() == before


# -- API, page and command -----------------------------------------------------------------------


def upload(buf: BytesIO, name="org.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, buf.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def test_api_import(bank, admin, client):
    client.force_login(bank.users["staff11"])
    response = client.post("/api/v1/org/import", {"file": upload(xlsx(inst(NEW_OUTLET)))})
    assert response.status_code == 403
    client.force_login(admin)
    bad = client.post("/api/v1/org/import?dry_run=false",
                      {"file": upload(xlsx(inst(["SZ0104", "x", "网点", "NOPE", "", "", "", 0, ""])))})
    assert bad.status_code == 400
    body = bad.json()
    assert body["ok"] is False and body["errors"][0] == {
        "sheet": "机构", "row": 2, "field": "上级机构代码", "message": body["errors"][0]["message"]}
    preview = client.post("/api/v1/org/import", {"file": upload(xlsx(inst(NEW_OUTLET)))})
    assert preview.status_code == 200 and preview.json()["dry_run"] is True
    assert not Institution.objects.filter(code="SZ0103").exists()
    applied = client.post("/api/v1/org/import?dry_run=false", {"file": upload(xlsx(inst(NEW_OUTLET)))})
    assert applied.status_code == 200, applied.json()
    assert applied.json()["summary"]["机构"]["create"] == 1
    assert Institution.objects.filter(code="SZ0103").exists()


def test_import_page_preview_then_apply(bank, admin, client):
    try:
        get_template("org/import.html")
    except TemplateDoesNotExist:
        pytest.skip("template org/import.html not written yet")
    client.force_login(admin)
    assert client.get("/org/import/").status_code == 200
    preview = client.post("/org/import/", {"file": upload(xlsx(inst(NEW_OUTLET)))})
    assert preview.status_code == 200 and preview.context["result"].ok
    assert not Institution.objects.filter(code="SZ0103").exists()
    applied = client.post("/org/import/", {"file": upload(xlsx(inst(NEW_OUTLET))), "apply": "1"})
    assert applied.status_code == 302
    assert Institution.objects.filter(code="SZ0103").exists()
    client.force_login(bank.users["staff11"])
    assert client.get("/org/import/").status_code == 403


def test_command_export_and_import(bank, tmp_path: Path):
    path = tmp_path / "org.xlsx"
    out = StringIO()
    call_command("org", "export", str(path), stdout=out)
    assert load_workbook(path).sheetnames == ["机构", "部门", "人员"]
    out = StringIO()
    call_command("org", "import", str(path), stdout=out)
    assert "机构" in out.getvalue() and "人员" in out.getvalue()

    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx(inst(NEW_OUTLET)).getvalue())
    call_command("org", "import", str(good), "--dry-run", stdout=StringIO())
    assert not Institution.objects.filter(code="SZ0103").exists()
    call_command("org", "import", str(good), stdout=StringIO())
    assert Institution.objects.filter(code="SZ0103").exists()

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx(people(["P1", "", "", "SZ0101", "", "", ""])).getvalue())
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("org", "import", str(bad), stdout=StringIO(), stderr=err)
    assert exc.value.returncode == 1
    assert "人员!第2行 姓名: " in err.getvalue()
