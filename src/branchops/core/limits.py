"""Bounds on what a client may send, in one place: the API's types, the pages' filters and the
importers read them. A value outside is refused with 400 naming the field — never a 500 from a
calendar or database that cannot hold it."""

from datetime import date

# Business dates (receipts, windows, meetings, reports): the statutory calendar and the reports make
# sense in this range; year 9999 or 0 is a typing mistake or a probe.
MIN_YEAR, MAX_YEAR = 2000, 2100
MIN_DATE, MAX_DATE = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)

# Ids are 64-bit in every database; a bigger number cannot name a row.
MAX_ID = 2**63 - 1

# Paginated lists: a page past the last is empty (its count still says how many there are).
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 500

# Ids in one request body list (outlets of an item, attendees of a meeting).
MAX_LIST = 1000

# Org workbook import: rows read before giving up, errors listed in the answer.
MAX_IMPORT_ROWS = 20_000
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ERRORS = 200


def date_in_range(value: date) -> bool:
    return MIN_DATE <= value <= MAX_DATE


def year_in_range(value: int) -> bool:
    return MIN_YEAR <= value <= MAX_YEAR


def whole_number(value) -> int | None:
    """A page filter's number (``?institution=``): None when absent, not a number or beyond any id —
    pages ignore a filter they cannot use rather than fail."""
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is None or abs(number) <= MAX_ID else None


def day(value) -> date | None:
    """A page filter's date (``?since=``): None when absent, malformed or outside MIN_DATE..MAX_DATE."""
    try:
        parsed = date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None
    return parsed if parsed is None or date_in_range(parsed) else None
