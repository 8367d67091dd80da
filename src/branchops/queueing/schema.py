"""The ticket-log and device-log schemas shared by import, storage, KPIs and the simulator.

Pure module: no Django import, so engines and benchmarks can use it alone.
"""

import pyarrow as pa

# Exactly the CSV header names the queue machines' export must carry (README documents them).
TICKET_COLUMNS = (
    "outlet_code",
    "ticket_date",
    "ticket_no",
    "business_type",
    "customer_tier",
    "queue_type",
    "issued_at",
    "called_at",
    "service_start_at",
    "service_end_at",
    "counter_no",
    "teller_no",
    "outcome",
)
# A ticket is (outlet, day, number, issue time): machines reuse numbers across queue lines and after a
# reset, but two customers never draw the same number in the same second (README: import semantics).
TICKET_KEY = ("outlet_code", "ticket_date", "ticket_no", "issued_at")

CUSTOMER_TIERS = ("regular", "vip", "private")
QUEUE_TYPES = ("cash", "non_cash", "vip", "low_counter")
OUTCOMES = ("served", "abandoned", "transferred")
# The product's business categories (the simulator's business types): the queue settings map the log's
# own business types onto them for the KPIs by category; a type that already is one maps to itself.
BUSINESS_CATEGORIES = ("cash_withdrawal", "cash_deposit", "currency_exchange", "transfer", "bill_payment",
                       "card_services", "account_opening", "wealth_management", "loan_services")
# What the queue settings' type mapping may map, and onto which codes.
MAPPED_COLUMNS = {"business_type": BUSINESS_CATEGORIES, "queue_type": QUEUE_TYPES,
                  "customer_tier": CUSTOMER_TIERS}
# Outcomes where the customer was called to a counter (wait = called_at - issued_at).
CALLED_OUTCOMES = ("served", "transferred")

# Times are local wall-clock time (Asia/Shanghai) without zone, second precision.
TICKET_SCHEMA = pa.schema(
    [
        ("outlet_code", pa.string()),
        ("ticket_date", pa.date32()),
        ("ticket_no", pa.string()),
        ("business_type", pa.string()),
        ("customer_tier", pa.string()),
        ("queue_type", pa.string()),
        ("issued_at", pa.timestamp("s")),
        ("called_at", pa.timestamp("s")),
        ("service_start_at", pa.timestamp("s")),
        ("service_end_at", pa.timestamp("s")),
        ("counter_no", pa.string()),
        ("teller_no", pa.string()),
        ("outcome", pa.string()),
    ]
)

DEVICE_COLUMNS = ("device_id", "outlet_code", "txn_type", "start_at", "end_at")
DEVICE_SCHEMA = pa.schema(
    [
        ("device_id", pa.string()),
        ("outlet_code", pa.string()),
        ("txn_type", pa.string()),
        ("start_at", pa.timestamp("s")),
        ("end_at", pa.timestamp("s")),
    ]
)

INTERVAL_MINUTES = 30

# {root}/rollup_stale/month=YYYY-MM/outlet=<code>: an empty file per partition whose tickets or device logs
# changed after its roll-up was built. The store writes it in the same commit as the partition; a
# roll-up refresh removes it; a read that finds one answers from the partitions instead.
STALE_DIR = "rollup_stale"
