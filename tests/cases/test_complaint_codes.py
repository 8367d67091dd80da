"""JR/T 0169-2018 complaint code tables: the bundled file loads clean; validate() catches each fault."""

import ast
import copy
import json
from datetime import date

import pytest

from branchops.cases import complaint_codes as cc

RAW = json.loads(cc.DATA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def std():
    return cc.load_standard()


def names_under(std, dimension, parent):
    return [c.name for c in std.dimensions[dimension] if c.parent == parent]


def code_named(std, dimension, name, parent=None):
    [found] = [c for c in std.dimensions[dimension] if c.name == name and c.parent == parent]
    return found.code


def broken(mutate):
    data = copy.deepcopy(RAW)
    mutate(data["dimensions"])
    return cc.parse_standard(data)


def test_loads_metadata(std):
    assert std.standard == "JR/T 0169-2018"
    assert std.title == "金融消费者投诉统计分类及编码 银行业金融机构"
    assert std.version == "2018"
    assert std.effective_from == date(2018, 9, 4)
    assert std.dimension_names == {"channel": "业务办理渠道", "business": "业务类别", "cause": "投诉原因"}
    assert list(std.dimensions) == list(cc.DIMENSIONS)


def test_note_says_what_is_and_is_not_from_the_standard(std):
    assert "BranchOps 自编代码" in std.note
    assert "未经正式文本确认" in std.note
    assert "not been checked against the official text" in " ".join(cc.__doc__.lower().split())


def test_bundled_file_validates_clean(std):
    assert cc.validate(std) == []


@pytest.mark.parametrize("dimension", cc.DIMENSIONS)
def test_every_dimension_has_at_least_ten_codes(std, dimension):
    assert len(std.dimensions[dimension]) >= 10


def test_channel_key_entries(std):
    assert names_under(std, "channel", None) == ["前台业务渠道", "中、后台业务渠道"]
    front = code_named(std, "channel", "前台业务渠道")
    assert names_under(std, "channel", front) == ["营业现场", "自助机具", "电子渠道", "第三方渠道", "其他"]
    electronic = code_named(std, "channel", "电子渠道", front)
    assert names_under(std, "channel", electronic) == [
        "网银渠道", "电话渠道", "移动客户端", "网络公众平台", "短信渠道", "其他"]


def test_business_key_entries(std):
    top = names_under(std, "business", None)
    for name in ["人民币储蓄", "贷款", "银行卡", "支付结算", "人民币管理", "外汇", "个人金融信息",
                 "银行代理业务", "自营理财", "贵金属", "国库", "其他中间业务"]:
        assert name in top
    assert top[-1] == "其他"
    assert names_under(std, "business", code_named(std, "business", "银行卡")) == ["借记卡", "信用卡"]
    loans = code_named(std, "business", "贷款")
    assert names_under(std, "business", loans) == ["个人贷款", "单位贷款"]
    personal = code_named(std, "business", "个人贷款", loans)
    assert {"个人住房贷款", "个人消费贷款", "个人经营性贷款"} <= set(names_under(std, "business", personal))
    assert {"现金服务", "残损人民币兑换"} <= set(names_under(std, "business", code_named(std, "business", "人民币管理")))
    assert {"代理保险", "代理基金", "代理贵金属"} <= set(
        names_under(std, "business", code_named(std, "business", "银行代理业务")))


def test_cause_key_entries(std):
    assert names_under(std, "cause", None) == [
        "服务态度及服务质量", "服务设施、设备、业务系统", "管理制度、业务规则与流程", "营销方式和手段",
        "信息披露", "自主选择权", "定价收费", "产品收益", "合同条款", "消费者资金安全", "消费者信息安全",
        "债务催收方式和手段", "其他"]


def test_codes_carry_dimension_prefix_and_provenance(std):
    prefix = {"channel": "A.", "business": "B.", "cause": "C."}
    for c in cc.iter_codes(std):
        assert c.code.startswith(prefix[c.dimension])
        assert c.provenance in cc.PROVENANCES
        assert c.description
        if c.parent:
            assert c.code.startswith(c.parent + ".")
        if c.name == "其他":
            assert c.code.endswith(".99")
    # BranchOps' own subdivisions are marked as such, not passed off as the standard's.
    assert cc.lookup(std, "business", code_named(std, "business", "个人贷款", "B.02")).provenance == "branchops"
    assert cc.lookup(std, "cause", "C.99").provenance == "branchops"


def test_iter_codes_parents_before_children(std):
    seen = set()
    out = list(cc.iter_codes(std))
    for c in out:
        assert c.parent is None or (c.dimension, c.parent) in seen
        seen.add((c.dimension, c.code))
    assert len(out) == sum(len(codes) for codes in std.dimensions.values())
    assert [c.dimension for c in out] == sorted((c.dimension for c in out), key=cc.DIMENSIONS.index)
    assert [c.name for c in cc.iter_codes(std, "channel")][:5] == [
        "前台业务渠道", "营业现场", "自助机具", "电子渠道", "网银渠道"]


def test_levels_follow_the_hierarchy(std):
    index = {(c.dimension, c.code): c for c in cc.iter_codes(std)}
    for c in index.values():
        expected = 1 if c.parent is None else index[(c.dimension, c.parent)].level + 1
        assert c.level == expected
    assert max(c.level for c in index.values()) == 3


def test_lookup_and_ancestry(std):
    mobile = code_named(std, "channel", "移动客户端", "A.01.03")
    assert [c.name for c in cc.ancestry(std, "channel", mobile)] == ["前台业务渠道", "电子渠道", "移动客户端"]
    assert cc.lookup(std, "channel", "nope") is None
    assert cc.ancestry(std, "channel", "nope") == []


def test_file_is_one_code_per_line():
    lines = [line for line in cc.DATA_FILE.read_text(encoding="utf-8").splitlines() if '"code":' in line]
    assert len(lines) == sum(len(d["codes"]) for d in RAW["dimensions"].values())
    assert all(line.count('"code":') == 1 for line in lines)


def test_module_does_not_import_django():
    tree = ast.parse(cc.__loader__.get_source(cc.__name__))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [name for name in imported if name.split(".")[0] == "django"]


# --- validate() on broken copies -------------------------------------------------------------


def test_reports_duplicate_code():
    std = broken(lambda d: d["cause"]["codes"].append({"code": "C.05", "name": "信息披露（重复）", "parent": None}))
    problems = cc.validate(std)
    assert len(problems) == 1
    assert "cause 'C.05': duplicate code" in problems[0]


def test_reports_unknown_parent():
    def mutate(d):
        d["channel"]["codes"][1]["parent"] = "A.07"

    problems = cc.validate(broken(mutate))
    assert problems == ["channel 'A.01.01': unknown parent 'A.07'"]


def test_reports_cycle_once_and_still_iterates():
    def mutate(d):
        codes = {c["code"]: c for c in d["business"]["codes"]}
        codes["B.03"]["parent"] = "B.03.01"  # 银行卡 under 借记卡, which is under 银行卡

    std = broken(mutate)
    problems = cc.validate(std)
    assert len(problems) == 1
    assert problems[0].startswith("business: parent cycle")
    assert "B.03" in problems[0] and "B.03.01" in problems[0]
    out = list(cc.iter_codes(std, "business"))
    assert len(out) == len(std.dimensions["business"])  # nothing lost, no endless loop
    assert {c.level for c in out if c.code.startswith("B.03")} == {0}


def test_reports_self_parent_as_cycle():
    def mutate(d):
        d["cause"]["codes"][0]["parent"] = "C.01"

    assert cc.validate(broken(mutate)) == ["cause: parent cycle C.01 -> C.01"]


@pytest.mark.parametrize("name", ["", "   "])
def test_reports_empty_name(name):
    def mutate(d):
        d["business"]["codes"][0]["name"] = name

    assert cc.validate(broken(mutate)) == ["business 'B.01': empty name"]


def test_reports_missing_dimension_and_empty_code():
    def mutate(d):
        del d["cause"]
        d["channel"]["codes"].append({"code": "", "name": "无代码", "parent": None})

    problems = cc.validate(broken(mutate))
    assert "cause: dimension missing or empty" in problems
    assert "channel: empty code (name '无代码')" in problems


def test_broken_file_loads_and_reports_every_problem(tmp_path):
    data = copy.deepcopy(RAW)
    codes = data["dimensions"]["channel"]["codes"]
    codes.append(dict(codes[0]))  # duplicate A.01
    codes[2]["parent"] = "X"  # unknown parent
    codes[4]["name"] = ""  # empty name
    codes[5]["parent"], codes[6]["parent"] = "A.01.03.03", "A.01.03.02"  # cycle
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    problems = cc.validate(cc.load_standard(path))
    assert len(problems) == 4
    assert any("duplicate code" in p for p in problems)
    assert any("unknown parent 'X'" in p for p in problems)
    assert any("empty name" in p for p in problems)
    assert any("parent cycle" in p for p in problems)


@pytest.mark.parametrize("mutate", [
    lambda d: d.pop("effective_from"),
    lambda d: d.update(effective_from="2018-13-01"),
    lambda d: d.update(dimensions=[]),
    lambda d: d["dimensions"]["cause"].pop("codes"),
    lambda d: d["dimensions"]["cause"]["codes"][0].pop("name"),
])
def test_malformed_file_raises(tmp_path, mutate):
    data = copy.deepcopy(RAW)
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(cc.StandardFormatError):
        cc.load_standard(path)


def test_not_json_raises(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(cc.StandardFormatError):
        cc.load_standard(path)
