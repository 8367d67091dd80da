"""The Trino rendering of the KPI SQL (``kpis.TRINO``) is parsed by a Trino SQL parser (sqlglot's trino
dialect) for every query the product runs: wait and ops KPIs at every grain, with outlets, a group
mapping, breakdowns, thresholds and the business-category mapping. A parse error fails the test.
(Spark's rendering is run for real on Spark: tests/queueing/test_spark.py.)"""

from datetime import date

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from branchops.queueing import kpis

GROUPS = pa.table({"outlet_code": ["A1", "A2"], "sub_branch": ["S1", "S1"]})
START, END = date(2026, 3, 30), date(2026, 4, 12)
CATEGORIES = {"取现": "cash_withdrawal", "it's": "transfer"}  # a quote in a value must stay a literal


def rendered() -> list[tuple[str, str]]:
    out = []
    for grain in kpis.GRAINS:
        for outlets, mapping, breakdown in ((None, None, ()), (["A1", "0101"], None, ("customer_tier",)),
                                            (None, GROUPS, ("business_type", "customer_tier")), ([], None, ())):
            scope = kpis.resolve(START, END, grain, outlets, mapping, breakdown)
            name = f"{grain}/{outlets}/{mapping is not None}/{breakdown}"
            out.append((f"wait {name}", kpis.wait_sql("/data", scope, {"vip": 240}, kpis.TRINO,
                                                       categories=CATEGORIES if breakdown else None)))
            ops_scope = kpis.resolve(START, END, grain, outlets, mapping)
            for eligible in (None, ["cash_deposit"], []):
                out.append((f"ops {name} {eligible}", kpis.ops_sql("/data", ops_scope, eligible, kpis.TRINO)))
    return out


@pytest.mark.parametrize(("name", "sql"), rendered(), ids=[n for n, _ in rendered()])
def test_every_trino_query_parses(name, sql):
    tree = sqlglot.parse_one(sql, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    assert isinstance(tree, exp.Query)
    # The engine-specific pieces are Trino's own: no DuckDB file reads, approximate percentiles named.
    assert not list(tree.find_all(exp.Anonymous)) or all(
        f.name.lower() not in ("read_parquet", "quantile_cont") for f in tree.find_all(exp.Anonymous))
    tables = {t.name for t in tree.find_all(exp.Table)}
    assert tables & {"tickets", "devices"}, tables


def test_a_broken_query_is_caught():
    # The check has teeth: a Trino parse error fails.
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one("SELECT a FROM (SELECT * FROM tickets WHERE", read="trino")
