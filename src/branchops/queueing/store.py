"""Validating import of queue-machine ticket logs and smart-device logs into a partitioned Parquet store.

Store layout — a contract with the KPI engine and the roll-ups, keep it exactly:

    {root}/tickets/month=YYYY-MM/outlet=<outlet_code>/data.parquet   TICKET_SCHEMA,
        one file per partition, rows sorted by (ticket_date, issued_at, ticket_no);
        month = month of ticket_date
    {root}/devices/month=YYYY-MM/outlet=<outlet_code>/data.parquet   DEVICE_SCHEMA,
        sorted by (start_at, device_id); month = month of start_at

Parquet has no second unit: the times are stored as TIMESTAMP(MILLIS), whole seconds. DuckDB reads them as
TIMESTAMP; pyarrow gives exactly TICKET_SCHEMA with ``pq.read_table(path, schema=TICKET_SCHEMA)`` (or
``TicketStore.read_partition``). Files are replaced atomically (``data.parquet.tmp-<uuid>`` then
``os.replace``), so a reader in another process sees the old file or the new one, never half of one.
Writers serialise on ``{root}/<kind>/.lock``. Query with DuckDB:
``read_parquet(store.tickets_glob(), hive_partitioning=true)`` or ``FROM {store.tickets_sql()}``.

Pipeline, sized for 10 M rows on two cores (bench/queue_import.py):
  read     — pyarrow.csv, multithreaded, every column as a string, so a bad value is a row error, not a crash
  validate — vectorised pyarrow.compute/numpy over the Arrow table, one column per thread: each check is a
             boolean column; only the bad rows (up to max_errors) ever become Python objects. Repeated
             ticket keys are found from int codes of the key columns (sort, not per-row Python).
             The good rows come out already in store order (outlet, day, time, number).
  append   — each (month, outlet) run is merged with its stored file (keys already stored are dropped)
             and written by a small thread pool; an untouched partition is not rewritten.

Pure module: no Django import (the Django layer translates ``RowError.code`` and shows the summary).
"""

from __future__ import annotations

import codecs
import csv
import functools
import json
import os
import re
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import time as _walltime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from branchops.queueing.schema import (
    CALLED_OUTCOMES,
    CUSTOMER_TIERS,
    DEVICE_COLUMNS,
    DEVICE_SCHEMA,
    OUTCOMES,
    QUEUE_TYPES,
    STALE_DIR,
    TICKET_COLUMNS,
    TICKET_KEY,
    TICKET_SCHEMA,
)

try:  # POSIX; without it writers are not serialised between processes
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

# Row error codes: short and stable, the Django layer translates them.
UNKNOWN_OUTLET = "unknown_outlet"
TIMES_OUT_OF_ORDER = "times_out_of_order"
MISSING_FIELD = "missing_field"
BAD_VALUE = "bad_value"
DUPLICATE_TICKET = "duplicate_ticket"
DATE_MISMATCH = "date_mismatch"
DUPLICATE_RECORD = "duplicate_record"  # a device log twice (same device and start time)
# The same ticket key (outlet, day, number, issue time) with another tier, business or queue type: two
# customers cannot be told apart, so neither is merged into the other.
CONFLICTING_TICKET = "conflicting_ticket"
# The key is stored already with other content and the row is not a later call of it (append mode).
STORED_CONFLICT = "stored_conflict"

# File error codes (the whole file is refused, nothing stored).
UNSUPPORTED_FORMAT = "unsupported_format"
UNREADABLE_FILE = "unreadable_file"
BAD_ENCODING = "bad_encoding"
MIXED_ENCODING = "mixed_encoding"
REPLACEMENT_CHARACTER = "replacement_character"
EMPTY_FILE = "empty_file"
MISSING_COLUMN = "missing_column"
UNKNOWN_COLUMN = "unknown_column"
DUPLICATE_COLUMN = "duplicate_column"

_DATE_COLUMNS = {"ticket_date"}
EXTRA = "_extra"  # raw column holding the surplus values of a row longer than the header
LINE = "line"
DEFAULT_MAX_ERRORS = 1000  # row errors kept per file in an ImportSummary (all are counted)
# Outlet codes become directory names: no separators, no "..", nothing a shell or URL would mangle.
SAFE_OUTLET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
WRITE_THREADS = max(2, min(4, os.cpu_count() or 2))
LOCAL_TZ = "Asia/Shanghai"
_ENCODING_BLOCK = 16 << 20
_REPLACEMENT_UTF8 = "\ufffd".encode()
# What Big5 (or another legacy encoding) read as GB18030 turns into and a Chinese bank log never holds:
# private-use, kana, Greek/Cyrillic, enclosed and box-drawing, bopomofo, vertical forms.
_NOT_IN_A_GB_LOG = re.compile("[\ue000-\uf8ff\u3040-\u30ff\u0370-\u04ff\u2460-\u24ff\u2500-\u257f"
                              "\u3100-\u312f\u3200-\u33ff\ufe10-\ufe4f]")
STALE_TMP_SECONDS = 600  # a temporary file this old belongs to a writer that died

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of one row. ``reason`` is the stable code; ``message`` is English for logs and CLI."""

    line: int
    field: str
    reason: str
    value: str = ""
    message: str = ""

    @property
    def code(self) -> str:
        return self.reason


class ImportFileError(Exception):
    """The file as a whole cannot be imported (format, encoding, header); nothing of it is stored."""

    def __init__(self, code: str, message: str, column: str = "", path: str = "", line: int = 0):
        super().__init__(message)
        self.code, self.message, self.column, self.path, self.line = code, message, column, path, line


@dataclass(frozen=True, slots=True)
class FileError:
    code: str
    message: str
    column: str = ""
    line: int = 0  # the first bad line, where one is to blame (encodings)


@dataclass
class Validation:
    """Result of validate_*; unpacks as ``good, errors = validate_tickets(...)``."""

    good: pa.Table
    errors: list[RowError]
    rows: int = 0  # data rows looked at (blank lines not counted)
    rejected: int = 0  # bad rows, none of them in ``good``
    error_count: int = 0  # all errors, also those left out of ``errors`` by max_errors
    recalls: int = 0  # earlier calls of a recalled ticket, dropped in favour of its last call
    good_lines: np.ndarray | None = None  # source line of each row of ``good``

    def __iter__(self):
        return iter((self.good, self.errors))


@dataclass
class AppendResult:
    added: int = 0
    already_stored: int = 0
    partitions: list[tuple[str, str]] = field(default_factory=list)  # (month, outlet) rewritten or created
    recalls: int = 0  # stored rows replaced by a later call of the same ticket
    replaced: int = 0  # stored rows removed because their day was replaced (replace mode) or put back (undo)
    replaced_days: list = field(default_factory=list)  # (outlet, day) pairs replaced
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (line, field) differing from the store
    txid: str | None = None
    removed: int = 0  # undo: rows taken out again


@dataclass
class FileReport:
    """One file's outcome: rows_read = added + already_stored + recalls + rejected (no blank lines)."""

    path: str
    rows_read: int = 0
    added: int = 0
    already_stored: int = 0
    recalls: int = 0
    rejected: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first max_errors, by line
    file_error: FileError | None = None
    partitions: list[tuple[str, str]] = field(default_factory=list)
    replaced: int = 0  # stored rows of the replaced days removed (replace mode)
    replaced_days: list = field(default_factory=list)
    txid: str | None = None  # the store transaction, for undo (None: nothing changed)


@dataclass
class ImportSummary:
    """Totals over the files; ``partitions`` lists the (month, outlet) files created or rewritten."""

    files: list[FileReport] = field(default_factory=list)
    rows_read: int = 0
    added: int = 0
    already_stored: int = 0
    recalls: int = 0
    rejected: int = 0
    error_count: int = 0
    partitions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def errors(self) -> dict[str, list[RowError]]:
        """First row errors per file path (each list capped; ``error_count`` has the total)."""
        return {f.path: f.errors for f in self.files if f.errors}

    @property
    def failed_files(self) -> list[FileReport]:
        return [f for f in self.files if f.file_error]


# --------------------------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class _Check:
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class _Kind:
    name: str
    columns: tuple[str, ...]
    schema: pa.Schema
    key: tuple[str, ...]
    sort: tuple[str, ...]  # inside a partition
    month_of: str  # column giving the partition month
    times: tuple[str, ...]
    dates: tuple[str, ...]
    recall_by: str | None  # tickets: several rows of one key that differ by called_at
    identity: tuple[str, ...]  # must agree between rows of one key (else: a conflict, never a merge)
    duplicate_code: str
    duplicate_field: str
    duplicate_noun: str
    # Parquet: dictionaries only where values repeat, statistics only where readers prune (cheaper writes)
    dictionary: tuple[str, ...]
    statistics: tuple[str, ...]


TICKETS = _Kind(
    name="tickets", columns=TICKET_COLUMNS, schema=TICKET_SCHEMA, key=TICKET_KEY,
    sort=("ticket_date", "issued_at", "ticket_no"), month_of="ticket_date",
    times=("issued_at", "called_at", "service_start_at", "service_end_at"), dates=("ticket_date",),
    recall_by="called_at", identity=("customer_tier", "business_type", "queue_type"),
    duplicate_code=DUPLICATE_TICKET, duplicate_field="ticket_no",
    duplicate_noun="ticket",
    dictionary=("outlet_code", "ticket_date", "business_type", "customer_tier", "queue_type", "counter_no",
                "teller_no", "outcome"),
    statistics=("outlet_code", "ticket_date", "issued_at"),
)
DEVICES = _Kind(
    name="devices", columns=DEVICE_COLUMNS, schema=DEVICE_SCHEMA, key=("device_id", "start_at"),
    sort=("start_at", "device_id"), month_of="start_at", times=("start_at", "end_at"), dates=(),
    recall_by=None, identity=(), duplicate_code=DUPLICATE_RECORD, duplicate_field="start_at", duplicate_noun="record",
    dictionary=("device_id", "outlet_code", "txn_type"), statistics=("device_id", "outlet_code", "start_at"),
)
_ALWAYS_REQUIRED = ("outlet_code", "ticket_date", "ticket_no", "business_type", "customer_tier", "queue_type",
                    "issued_at", "outcome")
_CALLED_REQUIRED = ("called_at", "service_start_at", "service_end_at", "counter_no")
_NO_CALL_FIELDS = ("called_at", "service_start_at", "service_end_at")  # empty for abandoned tickets


# --------------------------------------------------------------------------------------------- reading


def read_ticket_file(path: str | os.PathLike) -> pa.Table:
    """Ticket rows of a .csv, .xlsx or .parquet file as strings, plus ``line`` (header = line 1).

    Raises ImportFileError for a file that cannot be read or whose header is not exactly TICKET_COLUMNS
    (any order). A CSV row with too many values carries them in ``_extra`` (reported as bad_value).
    """
    return _read_file(path, TICKET_COLUMNS)


def read_device_file(path: str | os.PathLike) -> pa.Table:
    """Device-log rows (DEVICE_COLUMNS) as strings plus ``line``; see read_ticket_file."""
    return _read_file(path, DEVICE_COLUMNS)


def _read_file(path: str | os.PathLike, columns: tuple[str, ...]) -> pa.Table:
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            table = _read_csv(path, columns)
        elif suffix in (".xlsx", ".xlsm"):
            table = _read_xlsx(path, columns)
        elif suffix in (".parquet", ".pq"):
            table = _read_parquet(path, columns)
        else:
            raise ImportFileError(UNSUPPORTED_FORMAT, f"{path.name}: use .csv, .xlsx or .parquet")
    except ImportFileError as exc:
        exc.path = str(path)
        raise
    except OSError as exc:
        raise ImportFileError(UNREADABLE_FILE, f"{path.name}: {exc}", path=str(path)) from exc
    names = list(columns) + [LINE] + ([EXTRA] if EXTRA in table.column_names else [])
    return table.select(names)


def _check_header(names: list[str], columns: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ImportFileError(DUPLICATE_COLUMN, f"column {name!r} appears twice in the header", name)
        seen.add(name)
    missing = [c for c in columns if c not in seen]
    if missing:
        raise ImportFileError(MISSING_COLUMN, f"missing column(s): {', '.join(missing)}", missing[0])
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise ImportFileError(UNKNOWN_COLUMN, f"unknown column(s): {', '.join(map(repr, unknown))}; "
                              f"expected exactly: {', '.join(columns)}", unknown[0])


def _line_at(path: str | os.PathLike, offset: int) -> int:
    """The line (1-based) holding byte ``offset``: counted only when a file is refused."""
    line, done = 1, 0
    with open(path, "rb") as fh:
        while done < offset and (block := fh.read(min(_ENCODING_BLOCK, offset - done))):
            line += block.count(b"\n")
            done += len(block)
    return line


def detect_encoding(path: str | os.PathLike) -> str:
    """``"utf8"`` or ``"gb18030"``, decided strictly over the whole file; else ImportFileError naming the line.

    UTF-8 (with or without BOM) is read in blocks; the first byte that is not UTF-8 decides: if UTF-8 text
    (a BOM or non-ASCII characters) came before its line, the file mixes encodings and is refused at that
    line; otherwise every non-ASCII line must be GB18030 and not UTF-8 (a UTF-8 line in a GBK file is
    refused too). Big5 decodes as GB18030 into kana, private-use or vertical-form characters: refused as
    well. A U+FFFD replacement character (text garbled before it reached us) is refused in either encoding.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with open(path, "rb") as fh:
        seen_utf8 = fh.read(3) == codecs.BOM_UTF8
        fh.seek(0)
        while block := fh.read(_ENCODING_BLOCK):
            ascii_only = block.isascii()  # the usual machine export: nothing to decode
            try:
                if not (ascii_only and decoder.getstate()[0] == b""):
                    decoder.decode(block)
            except UnicodeDecodeError as exc:
                start = max(exc.start, 0)
                line_start = block.rfind(b"\n", 0, start) + 1
                if seen_utf8 or not block[:line_start].isascii():
                    bad_line = _line_at(path, offset + start)
                    raise ImportFileError(
                        MIXED_ENCODING, f"line {bad_line} is not UTF-8 while the lines before it are",
                        line=bad_line) from exc
                return _check_gb18030(path)
            bad = -1 if ascii_only else block.find(_REPLACEMENT_UTF8)
            if bad >= 0:
                at = _line_at(path, offset + bad)
                raise ImportFileError(REPLACEMENT_CHARACTER, f"line {at} holds the replacement character �", line=at)
            seen_utf8 = seen_utf8 or not ascii_only
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:  # the file ends inside a character
            at = _line_at(path, offset)
            raise ImportFileError(BAD_ENCODING, f"line {at} ends inside a UTF-8 character", line=at) from exc
    return "utf8"


def _check_gb18030(path: str | os.PathLike) -> str:
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if raw.isascii():
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                raise ImportFileError(MIXED_ENCODING, f"line {number} is UTF-8 while the lines before it are "
                                      "GBK/GB18030", line=number)
            try:
                text = raw.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise ImportFileError(BAD_ENCODING, f"line {number} is neither UTF-8 nor GBK/GB18030",
                                      line=number) from exc
            if _NOT_IN_A_GB_LOG.search(text):
                raise ImportFileError(BAD_ENCODING, f"line {number} is not GBK/GB18030 text (Big5?)",
                                      line=number)
            if "\ufffd" in text:
                raise ImportFileError(REPLACEMENT_CHARACTER, f"line {number} holds the replacement character �",
                                      line=number)
    return "gb18030"


def _read_csv(path: Path, columns: tuple[str, ...]) -> pa.Table:
    encoding = detect_encoding(path)
    with open(path, "rb") as fh:
        first = fh.readline(1 << 20)
    text = first.decode("utf-8-sig" if encoding == "utf8" else encoding)
    if not text.strip():
        raise ImportFileError(EMPTY_FILE, "the file has no header row")
    names = [n.strip() for n in next(csv.reader([text]))]
    _check_header(names, columns)

    invalid: list[tuple[int | None, str]] = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    def read(threads: bool) -> pa.Table:
        with pa.memory_map(str(path)) as source:  # no read() copies of the whole file through the kernel
            return pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(use_threads=threads, skip_rows=1, column_names=names,
                                               block_size=16 << 20, encoding=encoding),
                # blank lines stay rows (all empty, dropped by validation) so line numbers stay right
                parse_options=pacsv.ParseOptions(ignore_empty_lines=False, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                     strings_can_be_null=True, quoted_strings_can_be_null=True,
                                                     null_values=[""]),
            )

    try:
        table = read(True)
        if invalid:  # multithreaded parsing does not know line numbers: read again serially
            invalid.clear()
            table = read(False)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if "UTF8" in str(exc) or "UTF-8" in str(exc) or isinstance(exc, UnicodeDecodeError):
            raise ImportFileError(BAD_ENCODING, "the file is neither UTF-8 nor GBK/GB18030 encoded") from exc
        raise ImportFileError(UNREADABLE_FILE, f"cannot parse the CSV: {exc}") from exc

    n = table.num_rows + len(invalid)
    lines = np.arange(2, n + 2, dtype=np.int64)
    if not invalid:
        return table.append_column(LINE, pa.array(lines))
    # Rows with the wrong number of values: short ones are padded (missing fields), long ones keep
    # the surplus in _extra. Each line is one row (multi-line quoted values are not supported).
    bad_lines = np.array([num for num, _ in invalid], dtype=np.int64)
    table = table.append_column(LINE, pa.array(lines[~np.isin(lines, bad_lines)]))
    rows: dict[str, list] = {c: [] for c in [*names, EXTRA, LINE]}
    for num, row_text in invalid:
        values = next(csv.reader([row_text]), [])
        for i, name in enumerate(names):
            rows[name].append(values[i] if i < len(values) else None)
        rows[EXTRA].append(",".join(values[len(names):]) if len(values) > len(names) else None)
        rows[LINE].append(num)
    extra = pa.table({k: pa.array(v, pa.int64() if k == LINE else pa.string()) for k, v in rows.items()})
    table = table.append_column(EXTRA, pa.nulls(table.num_rows, pa.string()))
    return pa.concat_tables([table, extra.select(table.column_names)]).sort_by(LINE)


def _cell_text(value, is_date: bool = False) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if is_date and isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()  # Excel has no date-only type
    if isinstance(value, datetime):
        if value.microsecond >= 500_000:  # Excel stores times as fractions of a day: round to the second
            value += timedelta(seconds=1)
        return value.replace(microsecond=0, tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # counter 5 typed as a number comes back as 5.0
    return str(value)


def _read_xlsx(path: Path, columns: tuple[str, ...]) -> pa.Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken or non-xlsx file
        raise ImportFileError(UNREADABLE_FILE, f"cannot open the workbook: {exc}") from exc
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # some writers store a wrong used range; read every cell instead
        rows = ws.iter_rows(min_row=1, values_only=True)
        header = list(next(rows, None) or [])
        while header and (header[-1] is None or str(header[-1]).strip() == ""):
            header.pop()
        if not header:
            raise ImportFileError(EMPTY_FILE, "the first row of the first sheet holds no header")
        names = ["" if h is None else str(h).strip() for h in header]
        _check_header(names, columns)
        width = len(names)
        data: list[list[str | None]] = [[] for _ in range(width + 2)]
        date_cols = {i for i, name in enumerate(names) if name in _DATE_COLUMNS}
        for line, row in enumerate(rows, start=2):  # read-only rows come with gaps filled: line = row number
            cells = [_cell_text(v, i in date_cols) for i, v in enumerate(row)]
            if any(c is not None and "\ufffd" in c for c in cells):
                raise ImportFileError(REPLACEMENT_CHARACTER, f"line {line} holds the replacement character �",
                                      line=line)
            if not any(c is not None and c.strip() for c in cells):
                continue
            cells += [None] * (width - len(cells))
            for i in range(width):
                data[i].append(cells[i])
            surplus = [c for c in cells[width:] if c is not None and c.strip()]
            data[width].append(",".join(surplus) if surplus else None)
            data[width + 1].append(line)
    finally:
        wb.close()
    arrays = {name: pa.array(data[i], pa.string()) for i, name in enumerate(names)}
    arrays[LINE] = pa.array(data[width + 1], pa.int64())
    if any(v is not None for v in data[width]):
        arrays[EXTRA] = pa.array(data[width], pa.string())
    return pa.table(arrays)


def _as_strings(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Typed Parquet columns as the strings a CSV would hold (timestamps to the second, ISO dates)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr, t = arr.cast(t.value_type), t.value_type
    if pa.types.is_timestamp(t):
        if t.tz is not None:  # an instant: the outlets' wall-clock time (schema.py: Asia/Shanghai)
            arr = pc.local_timestamp(arr.cast(pa.timestamp(t.unit, LOCAL_TZ)))
        arr = arr.cast(pa.timestamp("s"), safe=False)
    return arr.cast(pa.string())


def _read_parquet(path: Path, columns: tuple[str, ...]) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFileError(UNREADABLE_FILE, f"cannot read the Parquet file: {exc}") from exc
    names = [n.strip() for n in table.column_names]
    _check_header(names, columns)
    table = table.rename_columns(names)
    try:
        arrays = {n: _as_strings(table.column(n)) for n in names}
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
        raise ImportFileError(UNREADABLE_FILE, f"a column cannot be read as text: {exc}") from exc
    for col in arrays.values():
        hit = pc.fill_null(pc.match_substring(col, "\ufffd"), False)
        if pc.any(hit).as_py():
            line = int(pc.index(hit, True).as_py()) + 2
            raise ImportFileError(REPLACEMENT_CHARACTER, f"line {line} holds the replacement character �", line=line)
    arrays[LINE] = pa.array(np.arange(2, table.num_rows + 2, dtype=np.int64))
    return pa.table(arrays)


# --------------------------------------------------------------------------------------------- validation

_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
_NULL_STR = pa.scalar(None, pa.string())
Cond = pa.ChunkedArray  # boolean, one per row


def _pool() -> ThreadPoolExecutor:
    # pyarrow.compute kernels run without the GIL: columns are cleaned side by side on both cores.
    return ThreadPoolExecutor(max(2, os.cpu_count() or 2))


def _prepare_raw(raw: pa.Table, kind: _Kind) -> pa.Table:
    missing = [c for c in kind.columns if c not in raw.column_names]
    if missing:
        raise ValueError(f"raw table lacks column(s) {missing}")
    arrays = {c: raw.column(c) if raw.schema.field(c).type == pa.string() else _as_strings(raw.column(c))
              for c in kind.columns}
    if LINE in raw.column_names:
        arrays[LINE] = raw.column(LINE).cast(pa.int64())
    else:
        arrays[LINE] = pa.chunked_array([np.arange(2, raw.num_rows + 2, dtype=np.int64)])
    if EXTRA in raw.column_names:
        arrays[EXTRA] = _as_strings(raw.column(EXTRA))
    return pa.table(arrays)


# First/last bytes that may start/end whitespace: ASCII space and controls, or any non-ASCII byte
# (U+3000, NBSP…; text in Chinese just takes the slower exact trim).
_MAYBE_SPACE = np.zeros(256, bool)
_MAYBE_SPACE[[9, 10, 11, 12, 13, 32]] = True
_MAYBE_SPACE[0x80:] = True


def _may_need_trim(arr: pa.Array) -> bool:
    """Cheap look straight at the Arrow buffers: could any value have leading/trailing blanks or be ""?"""
    if len(arr) == 0 or arr.null_count == len(arr):
        return False
    if pc.any(pc.equal(pc.binary_length(arr), 0)).as_py():
        return True  # "" (from xlsx or parquet) must become null
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, np.int32)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, np.uint8)[offsets[0]: offsets[-1]]
    if data.min() > 32 and data.max() < 128:
        return False  # no space, control or non-ASCII byte anywhere: the usual machine export
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    starts, ends = starts[filled], ends[filled]
    first, last = data[starts - offsets[0]], data[ends - 1 - offsets[0]]
    return bool(_MAYBE_SPACE[first].any() or _MAYBE_SPACE[last].any())


def _clean_chunk(arr: pa.Array) -> pa.Array:
    if not _may_need_trim(arr):
        return arr  # the common case: no copy at all
    arr = pc.utf8_trim_whitespace(arr)
    empty = pc.equal(pc.binary_length(arr), 0)
    return pc.if_else(empty, _NULL_STR, arr) if pc.any(empty).as_py() else arr


def _clean(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trim; empty or blank is missing (null)."""
    if col.type != pa.string():
        col = col.cast(pa.string())
    return pa.chunked_array([_clean_chunk(chunk) for chunk in col.chunks], type=pa.string())


def _parse_chunk(arr: pa.Array, typ: pa.DataType) -> pa.Array:
    """Strict ISO date (YYYY-MM-DD) or time (…THH:MM:SS or with a space); anything else becomes null."""
    width = 10 if typ == pa.date32() else 19
    right = pc.equal(pc.binary_length(arr), width)
    if pc.all(right).as_py() is not False:
        try:  # fast path: Arrow's ISO-8601 cast; with the fixed width it takes exactly the two forms
            return pc.cast(arr, typ)
        except pa.ArrowInvalid:
            pass
    else:
        arr = pc.if_else(right, arr, _NULL_STR)
    parsed = None  # slow path, only for a block that holds a bad value
    for fmt in ("%Y-%m-%d",) if width == 10 else _TIME_FORMATS:
        attempt = pc.strptime(arr, format=fmt, unit="s", error_is_null=True)
        parsed = attempt if parsed is None else pc.coalesce(parsed, attempt)
    parsed = parsed.cast(typ)
    # strptime is lenient (2026-02-30 becomes 2026-03-02): keep only values that print back the same
    printed = pc.replace_substring(parsed.cast(pa.string()), " ", "T")
    same = pc.equal(printed, pc.replace_substring(arr, " ", "T"))
    return pc.if_else(pc.fill_null(same, False), parsed, pa.scalar(None, typ))


def _parse(col: pa.ChunkedArray, typ: pa.DataType) -> pa.ChunkedArray:
    return pa.chunked_array([_parse_chunk(chunk, typ) for chunk in col.chunks], type=typ)


def _normalise_enum(col: pa.ChunkedArray, allowed: Sequence[str],
                    aliases: Mapping[str, str] | None = None) -> pa.ChunkedArray:
    """Lower-case an enum column, but only when some value is not already an exact code; then the
    log's own codes (``aliases``, lower-case keys: the queue settings' type mapping) become the product's."""
    if pc.any(_not_in(col, allowed)).as_py():
        col = pc.utf8_lower(col)
    if aliases:
        # Map the few distinct values, then take: one pass over the rows. Unmapped values stay as they
        # are, so an unknown code is still a rejected row with its line, never silently dropped.
        uniq = pc.unique(col)
        mapped = pa.array([aliases.get(v, v) if v is not None else None for v in uniq.to_pylist()], pa.string())
        col = pc.take(mapped, pc.index_in(col, value_set=uniq))
        col = col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])
    return col


def _not_in(col: pa.ChunkedArray, values: Sequence[str]) -> Cond:
    return pc.and_(pc.is_valid(col), pc.invert(pc.is_in(col, value_set=pa.array(list(values), pa.string()))))


def _outlet_conditions(outlet: pa.ChunkedArray, known: set[str] | None) -> list[tuple[_Check, Cond]]:
    """Flag the file's distinct outlet codes in Python — a few hundred, not millions of rows."""
    codes = [c for c in pc.unique(outlet).to_pylist() if c is not None]
    unsafe = [c for c in codes if not SAFE_OUTLET.fullmatch(c)]
    unknown = [c for c in codes if known is not None and c not in known]
    return [
        (_Check("outlet_code", BAD_VALUE, "outlet_code may hold only letters, digits, '-', '_' and '.'"),
         pc.is_in(outlet, value_set=pa.array(unsafe, pa.string()))),
        (_Check("outlet_code", UNKNOWN_OUTLET, "unknown outlet"),
         pc.is_in(outlet, value_set=pa.array(unknown, pa.string()))),
    ]


def _parse_conditions(kind: _Kind, s: dict, t: dict) -> list[tuple[_Check, Cond]]:
    out = [(_Check(c, BAD_VALUE, f"{c} is not a date (YYYY-MM-DD)"),
            pc.and_(pc.is_valid(s[c]), pc.is_null(t[c]))) for c in kind.dates]
    out += [(_Check(c, BAD_VALUE, f"{c} is not a time (YYYY-MM-DDTHH:MM:SS)"),
             pc.and_(pc.is_valid(s[c]), pc.is_null(t[c]))) for c in kind.times]
    return out


def _ticket_conditions(s: dict, t: dict, known: set[str] | None, tiers: Sequence[str],
                       queue_types: Sequence[str]) -> list[tuple[_Check, Cond]]:
    out = [(_Check(c, MISSING_FIELD, f"{c} is missing"), pc.is_null(s[c])) for c in _ALWAYS_REQUIRED]
    called = pc.is_in(s["outcome"], value_set=pa.array(CALLED_OUTCOMES))
    out += [(_Check(c, MISSING_FIELD, f"{c} is required for a served or transferred ticket"),
             pc.and_(called, pc.is_null(s[c]))) for c in _CALLED_REQUIRED]
    out += _parse_conditions(TICKETS, s, t)
    out += [
        (_Check("customer_tier", BAD_VALUE, f"customer_tier must be one of {', '.join(tiers)}"),
         _not_in(s["customer_tier"], tiers)),
        (_Check("queue_type", BAD_VALUE, f"queue_type must be one of {', '.join(queue_types)}"),
         _not_in(s["queue_type"], queue_types)),
        (_Check("outcome", BAD_VALUE, f"outcome must be one of {', '.join(OUTCOMES)}"),
         _not_in(s["outcome"], OUTCOMES)),
        *_outlet_conditions(s["outlet_code"], known),
    ]
    abandoned = pc.equal(s["outcome"], "abandoned")
    out += [(_Check(c, BAD_VALUE, f"an abandoned ticket has no {c}"), pc.and_(abandoned, pc.is_valid(s[c])))
            for c in _NO_CALL_FIELDS]
    issued, called_at, start, end = t["issued_at"], t["called_at"], t["service_start_at"], t["service_end_at"]
    out += [
        (_Check("ticket_date", DATE_MISMATCH, "ticket_date is not the date of issued_at"),
         pc.not_equal(pc.cast(issued, pa.date32()), t["ticket_date"])),
        (_Check("called_at", TIMES_OUT_OF_ORDER, "called_at is before issued_at"),
         pc.less(called_at, issued)),
        (_Check("service_start_at", TIMES_OUT_OF_ORDER, "service_start_at is before called_at"),
         pc.less(start, pc.coalesce(called_at, issued))),
        (_Check("service_end_at", TIMES_OUT_OF_ORDER, "service_end_at is before service_start_at"),
         pc.less(end, pc.coalesce(start, called_at, issued))),
    ]
    return out


def _device_conditions(s: dict, t: dict, known: set[str] | None) -> list[tuple[_Check, Cond]]:
    out = [(_Check(c, MISSING_FIELD, f"{c} is missing"), pc.is_null(s[c])) for c in DEVICE_COLUMNS]
    out += _parse_conditions(DEVICES, s, t)
    out += _outlet_conditions(s["outlet_code"], known)
    out.append((_Check("end_at", TIMES_OUT_OF_ORDER, "end_at is before start_at"),
                pc.less(t["end_at"], t["start_at"])))
    return out


def validate_tickets(
    raw: pa.Table,
    known_outlets: Iterable[str] | None,
    tier_codes: Sequence[str] = CUSTOMER_TIERS,
    queue_types: Sequence[str] = QUEUE_TYPES,
    max_errors: int | None = None,
    aliases: Mapping[str, Mapping[str, str]] | None = None,
) -> Validation:
    """Check raw ticket rows (strings + line); returns the good rows typed as TICKET_SCHEMA and the errors.

    Values are trimmed, empty means missing, enum codes are compared lower-case. Rows of one ticket key that
    differ by called_at are recalls: the last call is kept, the earlier ones dropped and counted (no error);
    the same called_at twice is a duplicate_ticket error. ``known_outlets=None`` skips the outlet check.
    ``max_errors`` caps the RowError objects built (counts stay complete). ``aliases``: per column
    (customer_tier, queue_type) the log's codes -> the product's codes, applied before the checks.
    """
    tiers, queues = list(tier_codes), list(queue_types)
    aliases = {col: {str(k).strip().lower(): v for k, v in (codes or {}).items()}
               for col, codes in (aliases or {}).items()}
    return _validate(
        TICKETS, raw, known_outlets,
        {"customer_tier": tiers, "queue_type": queues, "outcome": list(OUTCOMES)},
        lambda s, t, known: _ticket_conditions(s, t, known, tiers, queues), max_errors, aliases)


def validate_devices(raw: pa.Table, known_outlets: Iterable[str] | None,
                     max_errors: int | None = None) -> Validation:
    """Check raw device-log rows; a second row with the same device_id and start_at is duplicate_record."""
    return _validate(DEVICES, raw, known_outlets, {}, _device_conditions, max_errors)


def _as_int64(col: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_date32(col.type):
        col = col.cast(pa.int32())
    return col.cast(pa.int64()).to_numpy()


def _codes(col: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Order-preserving int codes of a column and their count (strings: rank among the distinct values).

    Nulls get the smallest code; they only occur in rows that are rejected anyway.
    """
    if pa.types.is_string(col.type):
        # one hash pass; the (small) dictionary is then ranked
        encoded = pc.dictionary_encode(col).unify_dictionaries()
        if encoded.num_chunks == 0:
            return np.zeros(0, np.int64), 1
        dictionary = encoded.chunk(0).dictionary
        rank = np.empty(len(dictionary) + 1, np.int64)
        rank[pc.sort_indices(dictionary).to_numpy()] = np.arange(len(dictionary))
        rank[-1] = 0
        indices = pa.chunked_array([c.indices for c in encoded.chunks], type=encoded.type.index_type)
        return rank[pc.fill_null(indices, len(dictionary)).to_numpy()], max(len(dictionary), 1)
    low = pc.min(col).as_py()
    if low is None:
        return np.zeros(len(col), np.int64), 1
    codes = _as_int64(pc.fill_null(col, low))
    if not codes.flags.writeable:
        codes = codes.copy()
    codes -= codes.min()
    return codes, int(codes.max()) + 1


def _combine(parts: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """One int64 per row ordered like the tuple of codes (lexicographic)."""
    key, span = parts[0][0].copy(), parts[0][1]
    for codes, card in parts[1:]:
        if span * card >= 2**62:  # would overflow: renumber densely first (np.unique keeps the order)
            key = np.unique(key, return_inverse=True)[1].astype(np.int64).reshape(-1)
            span = int(key.max()) + 1 if len(key) else 1
        key *= card  # in place: every fresh 80 MB temporary costs page faults
        key += codes
        span *= card
    return key


def _store_order(table: pa.Table, kind: _Kind) -> tuple[np.ndarray, bool]:
    """Sort key of the store, (outlet_code, *kind.sort), and whether the rows already are in that order."""
    key = _combine([_codes(table[c]) for c in ("outlet_code", *kind.sort)])
    return key, bool(np.all(key[1:] >= key[:-1]))


def _months(col: pa.ChunkedArray) -> np.ndarray:
    """Months since 1970 of a date or timestamp column (nulls as 1970-01; only rejected rows have them)."""
    months = pc.fill_null(pc.year(col), 1970).to_numpy().astype(np.int64)
    months -= 1970
    months *= 12
    months += pc.fill_null(pc.month(col), 1).to_numpy()
    months -= 1
    return months


def _partition_pieces(table: pa.Table, idx: np.ndarray, part: np.ndarray) -> list[pa.Table]:
    """Rows ``idx`` of ``table`` (in that order), one single-chunk table per run of equal ``part``.

    Usually one gather per column, the columns shared out over both cores (pyarrow's take runs without
    the GIL), then zero-copy slices. An export already in store order (long runs of consecutive rows,
    e.g. one file per outlet) is instead cut into batch slices and concatenated per partition.
    """
    n = len(idx)
    starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]]) if n else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], n]
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    if len(breaks) * 1024 > n:
        indices = pa.array(idx)
        with _pool() as pool:
            columns = list(pool.map(lambda col: col.take(indices).combine_chunks(), table.columns))
        ordered = pa.Table.from_arrays(columns, schema=table.schema)
        return [ordered.slice(a, b - a) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    batches = [b for b in table.to_batches() if b.num_rows]
    offsets = np.cumsum([0, *[b.num_rows for b in batches]])
    cut = np.union1d(breaks, starts)  # positions in idx where a slice begins
    length = np.diff(np.r_[cut, n])
    first = idx[cut]
    batch = np.searchsorted(offsets, first, side="right") - 1
    piece = np.searchsorted(starts, cut, side="right") - 1
    slices: list[list[pa.RecordBatch]] = [[] for _ in starts]
    for row, ln, k, p in zip(first.tolist(), length.tolist(), batch.tolist(), piece.tolist(), strict=True):
        while ln:  # a run may go on into the next batch
            take = min(ln, int(offsets[k + 1]) - row)
            slices[p].append(batches[k].slice(row - int(offsets[k]), take))
            row, ln, k = row + take, ln - take, k + 1
    with _pool() as pool:
        return list(pool.map(lambda parts: pa.Table.from_batches(parts, schema=table.schema).combine_chunks(),
                             slices))


# Tables handed out by validate_* (already one chunk per partition, in store order): append trusts them.
_VALIDATED: dict[int, weakref.ref] = {}


def _mark_validated(table: pa.Table) -> pa.Table:
    key = id(table)
    _VALIDATED[key] = weakref.ref(table, lambda _ref, key=key: _VALIDATED.pop(key, None))
    return table


def _is_validated(table: pa.Table) -> bool:
    ref = _VALIDATED.get(id(table))
    return ref is not None and ref() is table


def _repeated(key: np.ndarray) -> np.ndarray:
    """Positions of the rows whose key occurs more than once (ascending)."""
    srt = np.sort(key)
    repeated = np.unique(srt[1:][srt[1:] == srt[:-1]])
    if not len(repeated):
        return np.zeros(0, np.int64)
    return np.flatnonzero(pc.is_in(pa.array(key), value_set=pa.array(repeated)).to_numpy(zero_copy_only=False))


def _conflicts(key: np.ndarray, lines: np.ndarray, identities: Callable[[np.ndarray], list[np.ndarray]] | None,
               pos: np.ndarray) -> tuple[dict[int, tuple[int, int]], np.ndarray]:
    """Rows whose key is on an earlier line with another identity (tier, business or queue type).

    Returns ({line: (first line of the key, index of the first differing identity column)}, positions to
    drop). The first line of a key is kept; a later row agreeing with it goes on to the recall check.
    """
    if identities is None or not len(pos):
        return {}, np.zeros(0, np.int64)
    order = np.lexsort((lines[pos], key[pos]))
    pos = pos[order]
    k = key[pos]
    head = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    first = head[np.cumsum(np.r_[True, k[1:] != k[:-1]]) - 1]  # position (in pos) of each key's first row
    differs = np.stack([ident != ident[first] for ident in identities(pos)])
    clash = differs.any(axis=0)
    which = differs.argmax(axis=0)
    out = {int(ln): (int(fl), int(w)) for ln, fl, w in zip(lines[pos][clash].tolist(),
                                                           lines[pos][first][clash].tolist(),
                                                           which[clash].tolist(), strict=True)}
    return out, np.sort(pos[clash])


def _repeats(key: np.ndarray, lines: np.ndarray, call: np.ndarray | None, pos: np.ndarray | None = None
             ) -> tuple[dict[int, int], np.ndarray, int]:
    """Rows sharing a key: ({line: first line} of duplicates, positions to drop, number of recalls).

    With ``call`` (tickets: called_at, no call smallest) the row with the last call is kept and the earlier
    calls are recalls; the same call twice is a duplicate of its first line. ``pos``: the rows whose key
    repeats, if known (a row left alone in its key group by then is harmless: kept, no recall).
    """
    pos = _repeated(key) if pos is None else pos
    if not len(pos):
        return {}, np.zeros(0, np.int64), 0
    k, ln = key[pos], lines[pos]
    c = call[pos] if call is not None else np.zeros(len(pos), np.int64)
    order = np.lexsort((ln, c, k))
    pos, k, c, ln = pos[order], k[order], c[order], ln[order]
    new_kc = np.r_[True, (k[1:] != k[:-1]) | (c[1:] != c[:-1])]
    first_line = ln[new_kc][np.cumsum(new_kc) - 1]
    is_dup = ln != first_line
    new_k = np.r_[True, k[1:] != k[:-1]]
    last_call = np.maximum.reduceat(c, np.flatnonzero(new_k))[np.cumsum(new_k) - 1]
    is_recall = ~is_dup & (c != last_call)
    dup_first = dict(zip(ln[is_dup].tolist(), first_line[is_dup].tolist(), strict=True))
    return dup_first, pos[is_dup | is_recall], int(is_recall.sum())


def _validate(kind: _Kind, raw: pa.Table, known_outlets: Iterable[str] | None, enums: dict[str, list[str]],
              conditions: Callable[[dict, dict, set[str] | None], list[tuple[_Check, Cond]]],
              max_errors: int | None, aliases: Mapping[str, Mapping[str, str]] | None = None) -> Validation:
    raw = _prepare_raw(raw, kind)
    known = None if known_outlets is None else {str(c) for c in known_outlets}
    typed_types = {**dict.fromkeys(kind.dates, pa.date32()), **dict.fromkeys(kind.times, pa.timestamp("s"))}

    def prepare(name: str) -> tuple[pa.ChunkedArray, pa.ChunkedArray | None]:
        col = _clean(raw[name])
        if name in enums:
            col = _normalise_enum(col, enums[name], (aliases or {}).get(name))
        return col, _parse(col, typed_types[name]) if name in typed_types else None

    names = list(kind.columns) + ([EXTRA] if EXTRA in raw.column_names else [])
    with _pool() as pool:
        prepared = dict(zip(names, pool.map(prepare, names), strict=True))
    s = {n: col for n, (col, _) in prepared.items()}
    t = {n: typed for n, (_, typed) in prepared.items() if typed is not None}

    checks = conditions(s, t, known)
    if EXTRA in s:
        checks.append((_Check("", BAD_VALUE, "the row has more values than the header has columns"),
                       pc.is_valid(s[EXTRA])))
    blank = pc.is_null(s[names[0]])
    for n in names[1:]:
        blank = pc.and_(blank, pc.is_null(s[n]))  # a blank line: skipped, neither stored nor reported
    conds = [pc.fill_null(cond, False) for _, cond in checks]
    bad = pc.and_not(functools.reduce(pc.or_, conds), blank)
    ok = pc.invert(pc.or_(bad, blank))

    # Repeated keys and store order from int codes of the key columns, computed once for all rows.
    typed_table = pa.table({c: t.get(c, s[c]) for c in kind.columns}).cast(kind.schema)
    code_cols = list(dict.fromkeys((*kind.key, "outlet_code", *kind.sort)))
    with _pool() as pool:
        codes = dict(zip(code_cols, pool.map(lambda c: _codes(typed_table[c]), code_cols), strict=True))
    keep = np.flatnonzero(ok.to_numpy(zero_copy_only=False))
    lines = raw[LINE].to_numpy()
    row_key = _combine([codes[c] for c in kind.key])

    def identities(rows: np.ndarray) -> list[np.ndarray]:  # only rows whose key repeats: a few, not millions
        taken = pa.array(keep[rows])
        return [_codes(typed_table[c].take(taken))[0] for c in kind.identity]

    pos = _repeated(row_key[keep])
    clashes, dropped = _conflicts(row_key[keep], lines[keep], identities if kind.identity else None, pos)
    if len(dropped):
        keep = np.delete(keep, dropped)
        pos = np.setdiff1d(pos, dropped)
        pos -= np.searchsorted(dropped, pos)  # the same rows, numbered after the deletion
    call = None
    if kind.recall_by:
        call = _as_int64(pc.fill_null(t[kind.recall_by].cast(pa.int64()), np.iinfo(np.int64).min))[keep]
    dup_first, dropped, recalls = _repeats(row_key[keep], lines[keep], call, pos)
    if len(dropped):
        keep = np.delete(keep, dropped)
    order = keep[np.argsort(_combine([codes[c] for c in ("outlet_code", *kind.sort)])[keep], kind="stable")]
    # Handed over in store order, one chunk per (month, outlet): append_* need not sort or split again.
    part = codes["outlet_code"][0][order] * 100_000 + _months(typed_table[kind.month_of])[order]
    pieces = _partition_pieces(typed_table, order, part)
    good = _mark_validated(pa.concat_tables(pieces) if pieces else typed_table.slice(0, 0))
    good_lines = lines[order]

    # Errors: only bad rows (up to max_errors of them) become Python objects.
    bad_lines = raw[LINE].filter(bad).to_numpy()
    masks = [c.filter(bad).to_numpy(zero_copy_only=False) for c in conds] if len(bad_lines) else []
    error_count = int(sum(m.sum() for m in masks)) + len(dup_first) + len(clashes)
    all_bad = np.union1d(bad_lines, np.fromiter([*dup_first, *clashes], np.int64, len(dup_first) + len(clashes)))
    shown = all_bad if max_errors is None else all_bad[:max_errors]
    values: dict[int, dict] = {}
    if len(shown):
        rows = raw.filter(pc.is_in(raw[LINE], value_set=pa.array(shown))).to_pylist()
        values = {r[LINE]: r for r in rows}
    shown_pos = np.flatnonzero(np.isin(bad_lines, shown))
    errors: list[RowError] = []
    for pos in shown_pos.tolist():
        line = int(bad_lines[pos])
        row = values.get(line, {})
        for (check, _), mask in zip(checks, masks, strict=True):
            if mask[pos]:
                value = row.get(check.field or EXTRA) or ""
                errors.append(RowError(line, check.field, check.code, value.strip(), check.message))
    for line, first in dup_first.items():
        if line in values:
            value = (values[line].get(kind.duplicate_field) or "").strip()
            errors.append(RowError(line, kind.duplicate_field, kind.duplicate_code, value,
                                   f"duplicate {kind.duplicate_noun} (first on line {first})"))
    for line, (first, which) in clashes.items():
        if line in values:
            name = kind.identity[which]
            errors.append(RowError(line, name, CONFLICTING_TICKET, (values[line].get(name) or "").strip(),
                                   f"same ticket number and issue time as line {first} but another {name}"))
    errors.sort(key=lambda e: e.line)  # stable: a row's errors stay in check order
    if max_errors is not None:
        errors = errors[:max_errors]
    rows_seen = raw.num_rows - (pc.sum(blank).as_py() or 0)
    return Validation(good=good, errors=errors, rows=rows_seen, rejected=len(all_bad),
                      error_count=error_count, recalls=recalls, good_lines=good_lines)


# --------------------------------------------------------------------------------------------- store


class TicketStore:
    """The partitioned Parquet store under a data directory (tickets and device logs)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._local_lock = threading.Lock()

    # paths and queries
    def partition_path(self, month: str, outlet: str, kind: str = "tickets") -> Path:
        return self.root / kind / f"month={month}" / f"outlet={outlet}" / "data.parquet"

    def tickets_glob(self) -> str:
        return str(self.root / "tickets" / "*" / "*" / "data.parquet")

    def devices_glob(self) -> str:
        return str(self.root / "devices" / "*" / "*" / "data.parquet")

    def tickets_sql(self) -> str:
        """A DuckDB table expression over all tickets (partition columns month and outlet as text)."""
        return _read_parquet_sql(self.tickets_glob())

    def devices_sql(self) -> str:
        return _read_parquet_sql(self.devices_glob())

    def partitions(self, kind: str = "tickets") -> list[tuple[str, str]]:
        """Stored (month, outlet) pairs, sorted."""
        base = self.root / kind
        return sorted((p.parent.parent.name.removeprefix("month="), p.parent.name.removeprefix("outlet="))
                      for p in base.glob("month=*/outlet=*/data.parquet"))

    def read_partition(self, month: str, outlet: str, kind: str = "tickets") -> pa.Table:
        k = _kind(kind)
        path = self.partition_path(month, outlet, kind)
        return pq.read_table(path, schema=k.schema) if path.exists() else k.schema.empty_table()

    def delete_outlet_month(self, month: str, outlet: str, kind: str = "tickets") -> bool:
        """Remove one partition (e.g. to re-import a corrected month); True if there was one."""
        path = self.partition_path(month, outlet, kind)
        with self._lock(_kind(kind)):
            if not path.exists():
                return False
            path.unlink()
            for d in (path.parent, path.parent.parent):
                try:
                    d.rmdir()
                except OSError:
                    break
        return True

    # writing
    def append_tickets(self, good: pa.Table, progress: Progress | None = None) -> AppendResult:
        """Add validated tickets; keys already stored are skipped (re-import adds nothing twice)."""
        return self._append(TICKETS, good, progress)

    def append_devices(self, good: pa.Table, progress: Progress | None = None) -> AppendResult:
        return self._append(DEVICES, good, progress)

    @contextmanager
    def _lock(self, kind: _Kind):
        base = self.root / kind.name
        base.mkdir(parents=True, exist_ok=True)
        with self._local_lock, open(base / ".lock", "a+b") as fh:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def _append(self, kind: _Kind, good: pa.Table, progress: Progress | None, *, lines: np.ndarray | None = None,
                txid: str | None = None, replace: bool = False, manifest: dict | None = None) -> AppendResult:
        total = good.num_rows
        if total == 0:
            return AppendResult()
        if lines is None:
            lines = np.zeros(total, np.int64)
        if _is_validated(good):
            offsets = np.cumsum([0, *[b.num_rows for b in good.to_batches()]])
            pieces = [(pa.Table.from_batches([b]), lines[offsets[i]:offsets[i + 1]])
                      for i, b in enumerate(good.to_batches()) if b.num_rows]
        else:
            # Store order (outlet, day, time, number) makes every (outlet, month) a contiguous sorted run.
            good = good.select(kind.schema.names).cast(kind.schema)
            for c in dict.fromkeys(("outlet_code", *kind.key, *kind.sort)):
                if good[c].null_count:
                    raise ValueError(f"{c} is null in {good[c].null_count} row(s): validate the rows first")
            key, in_order = _store_order(good, kind)
            order = np.arange(total) if in_order else np.argsort(key, kind="stable")
            outlet = _codes(good["outlet_code"])[0][order]
            part = outlet * 100_000 + _months(good[kind.month_of])[order]
            starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
            ln = lines[order]
            pieces = list(zip(_partition_pieces(good, order, part),
                              np.split(ln, starts[1:]), strict=True))
        parts = []
        for piece, piece_lines in pieces:
            outlet = piece["outlet_code"][0].as_py()
            if outlet is None or not SAFE_OUTLET.fullmatch(outlet):
                raise ValueError(f"outlet code {outlet!r} cannot name a partition")
            month = str(np.datetime64(int(_months(piece[kind.month_of].slice(0, 1))[0]), "M"))  # "2026-03"
            parts.append((month, outlet, piece, piece_lines))

        result = AppendResult()
        with self._lock(kind):
            self._recover_locked()
            tx = _Transaction(self.root, txid or f"append-{uuid.uuid4().hex}")
            try:
                self._merge_all(kind, tx, parts, replace, result, total, progress)
            except BaseException:
                tx.abandon()  # nothing was committed: the partitions are as they were
                raise
            result.partitions.sort()
            result.conflicts.sort()
            if result.partitions:
                tx.commit(kind.name, result.partitions, {
                    **(manifest or {}), "added": result.added, "already_stored": result.already_stored,
                    "stored_recalls": result.recalls, "replaced": result.replaced,
                    "conflicts": [list(c) for c in result.conflicts]})
                tx.apply()
            else:
                tx.abandon()
            result.txid = tx.txid if result.partitions else None
        return result

    def _merge_all(self, kind: _Kind, tx: _Transaction, parts: list, replace: bool, result: AppendResult,
                   total: int, progress: Progress | None) -> None:
        done = 0
        with ThreadPoolExecutor(WRITE_THREADS) as pool:
            jobs = [(month, outlet, piece.num_rows, pool.submit(
                        self._merge_partition, kind, tx, month, outlet, piece, piece_lines, replace))
                    for month, outlet, piece, piece_lines in parts]
            for month, outlet, n, job in jobs:
                merged = job.result()
                result.added += merged.added
                result.already_stored += merged.already_stored
                result.recalls += merged.recalls
                result.conflicts.extend(merged.conflicts)
                result.replaced += merged.replaced
                result.replaced_days.extend(merged.replaced_days)
                if merged.changed:
                    result.partitions.append((month, outlet))
                done += n
                if progress:
                    progress(done, total)

    def _merge_partition(self, kind: _Kind, tx: _Transaction, month: str, outlet: str, new: pa.Table,
                         lines: np.ndarray, replace: bool) -> _Merged:
        """The partition's new content, staged in the transaction (the stored file is not touched here)."""
        path = self.partition_path(month, outlet, kind.name)
        now = _walltime()  # compared with file mtimes, which the system clock writes
        for stale in path.parent.glob("data.parquet.tmp-*"):  # left by a writer of an older version that died
            if now - stale.stat().st_mtime > STALE_TMP_SECONDS:
                stale.unlink(missing_ok=True)
        out = _Merged()
        rel = path.relative_to(self.root)
        new = new.select(kind.schema.names).cast(kind.schema)
        if not path.exists():
            staged = tx.stage(rel, new, kind)
            tx.link_added(rel, staged)
            out.added, out.changed = new.num_rows, True
            return out
        old = pq.read_table(path, schema=kind.schema)
        removed = []
        if replace and kind.month_of == "ticket_date":
            days = pc.unique(new["ticket_date"])
            gone = pc.is_in(old["ticket_date"], value_set=days)
            if pc.any(gone).as_py():
                removed.append(old.filter(gone))
                out.replaced = removed[0].num_rows
                out.replaced_days = sorted((outlet, d) for d in pc.unique(removed[0]["ticket_date"]).to_pylist())
                old = old.filter(pc.invert(gone))
        if not replace and new.num_rows == old.num_rows and new.equals(old):
            out.already_stored = new.num_rows  # the same file again (both in store order): nothing to do
            return out
        new = new.append_column("__line", pa.array(lines, pa.int64()))
        old_idx = old.select(list(kind.key)).append_column("__old", pa.array(np.arange(old.num_rows)))
        joined = new.join(old_idx, keys=list(kind.key), join_type="left outer")
        fresh_mask = pc.is_null(joined["__old"])
        fresh = joined.filter(fresh_mask)
        clash = joined.filter(pc.invert(fresh_mask))
        add_parts = [fresh]
        drop_old = np.zeros(0, np.int64)
        if clash.num_rows:
            prev = old.take(clash["__old"])
            same = _rows_equal(clash, prev, kind.schema.names)
            out.already_stored = int(np.count_nonzero(same))
            differ = ~same
            ident_ok = _rows_equal(clash, prev, kind.identity)
            later = np.zeros(clash.num_rows, bool)
            if kind.recall_by:
                floor = np.iinfo(np.int64).min
                c_new = _as_int64(pc.fill_null(clash[kind.recall_by].cast(pa.int64()), floor))
                c_old = _as_int64(pc.fill_null(prev[kind.recall_by].cast(pa.int64()), floor))
                later = c_new > c_old
            recall = differ & ident_ok & later
            if recall.any():  # a later call of a stored ticket: the stored row gives way
                add_parts.append(clash.filter(pa.array(recall)))
                drop_old = clash["__old"].to_numpy()[recall]
                removed.append(old.take(pa.array(drop_old)))
                out.recalls = int(recall.sum())
            bad = np.flatnonzero(differ & ~recall)
            for i in bad.tolist():
                name = next((c for c in kind.schema.names
                             if not _rows_equal(clash.slice(i, 1), prev.slice(i, 1), (c,))[0]), "")
                out.conflicts.append((int(clash["__line"][i].as_py()), name))
        added = pa.concat_tables([p.select(kind.schema.names) for p in add_parts]).cast(kind.schema)
        out.added = added.num_rows
        if out.added == 0 and not out.replaced:
            return out  # nothing new: the file is left untouched
        if len(drop_old):
            keep = np.ones(old.num_rows, bool)
            keep[drop_old] = False
            old = old.filter(pa.array(keep))
        merged = pa.concat_tables([old, added]).sort_by([(c, "ascending") for c in kind.sort])
        tx.stage(rel, merged if merged.num_rows else None, kind)
        tx.record_added(rel, added.select(list(kind.key)))
        if removed:
            tx.record_removed(rel, pa.concat_tables(removed))
        out.changed = True
        return out

    def recover(self, kind: str = "tickets") -> list[str]:
        """Finish committed transactions a crash interrupted, roll back the others; the txids finished."""
        with self._lock(_kind(kind)):
            return self._recover_locked()

    def _recover_locked(self) -> list[str]:
        finished = []
        for tx in _Transaction.pending(self.root):
            if tx.committed():
                tx.apply()
                finished.append(tx.txid)
            else:
                tx.abandon()
        return finished

    def manifest(self, txid: str) -> dict | None:
        """What a committed transaction recorded (partitions, counts), or None if it never committed."""
        path = self.root / UNDO_DIR / txid / "manifest.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def undo(self, txid: str, kind: str = "tickets") -> AppendResult:
        """Remove exactly the rows transaction ``txid`` added and put back the rows it replaced."""
        k = _kind(kind)
        result = AppendResult()
        with self._lock(k):
            self._recover_locked()
            record = self.root / UNDO_DIR / txid
            info = self.manifest(txid)
            if info is None or info.get("undone"):
                raise ValueError(f"nothing to undo for {txid}")
            tx = _Transaction(self.root, f"undo-{txid}")
            for month, outlet in (tuple(p) for p in info["partitions"]):
                path = self.partition_path(month, outlet, k.name)
                rel = path.relative_to(self.root)
                current = pq.read_table(path, schema=k.schema) if path.exists() else k.schema.empty_table()
                base = record / rel.parent
                if (base / "added.parquet").exists():
                    added = pq.read_table(base / "added.parquet", columns=list(k.key)).cast(
                        pa.schema([k.schema.field(c) for c in k.key]))
                    before = current.num_rows
                    current = current.join(added, keys=list(k.key), join_type="left anti")
                    result.removed += before - current.num_rows
                if (base / "removed.parquet").exists():
                    back = pq.read_table(base / "removed.parquet", schema=k.schema)
                    back = back.join(current.select(list(k.key)), keys=list(k.key), join_type="left anti")
                    current = pa.concat_tables([current, back.select(k.schema.names).cast(k.schema)])
                    result.replaced += back.num_rows
                current = current.select(k.schema.names).cast(k.schema).sort_by([(c, "ascending") for c in k.sort])
                tx.stage(rel, current if current.num_rows else None, k)
                result.partitions.append((month, outlet))
            tx.commit(k.name, result.partitions, {"undo_of": txid})
            tx.apply()
        return result

    def stored_days(self, days: Iterable[tuple[str, date]]) -> dict[str, list[date]]:
        """Which of these (outlet, day) pairs hold stored tickets: the days a replace would overwrite."""
        wanted: dict[tuple[str, str], set[date]] = {}
        for outlet, day in days:
            wanted.setdefault((f"{day:%Y-%m}", outlet), set()).add(day)
        out: dict[str, list[date]] = {}
        for (month, outlet), ds in sorted(wanted.items()):
            path = self.partition_path(month, outlet)
            if not path.exists():
                continue
            have = set(pc.unique(pq.read_table(path, columns=["ticket_date"])["ticket_date"]).to_pylist())
            hit = sorted(ds & have)
            if hit:
                out.setdefault(outlet, []).extend(hit)
        return out


UNDO_DIR = "imports"  # {root}/imports/<txid>/: manifest.json and, per partition, added/removed rows
JOURNAL_DIR = "journal"  # {root}/journal/<txid>/: staged files and the plan of a transaction under way
_CRASH_ENV = "BRANCHOPS_IMPORT_CRASH_AT"  # tests: the process exits (os._exit) at this step number
_steps = {"n": 0}


def crash_point(name: str) -> None:
    """A fault-injection point: with BRANCHOPS_IMPORT_CRASH_AT=k the k-th point reached ends the process."""
    at = os.environ.get(_CRASH_ENV)
    if not at:
        return
    _steps["n"] += 1
    if _steps["n"] == int(at):
        os._exit(86)


@dataclass
class _Merged:
    added: int = 0
    already_stored: int = 0
    recalls: int = 0
    replaced: int = 0
    replaced_days: list = field(default_factory=list)
    conflicts: list[tuple[int, str]] = field(default_factory=list)
    changed: bool = False


class _Transaction:
    """All partition files of one import become visible together.

    New files are staged in {root}/journal/<txid>/staged/, the undo record in .../undo/; ``commit`` writes
    plan.json then renames it to COMMITTED (the commit point); ``apply`` renames the staged files over
    the partitions (or deletes emptied ones), moves the undo record to {root}/imports/<txid>/ and removes
    the journal. A crash before the commit point leaves the partitions untouched (recovery deletes the
    journal); after it, recovery runs ``apply`` again, which is idempotent.
    """

    def __init__(self, root: Path, txid: str):
        self.root, self.txid = Path(root), txid
        self.dir = self.root / JOURNAL_DIR / txid
        self.entries: dict[str, str | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def pending(cls, root: Path) -> list[_Transaction]:
        base = Path(root) / JOURNAL_DIR
        return [cls(root, d.name) for d in sorted(base.iterdir()) if d.is_dir()] if base.exists() else []

    def committed(self) -> bool:
        return (self.dir / "COMMITTED").exists()

    def stage(self, rel: Path, table: pa.Table | None, kind: _Kind) -> Path | None:
        staged = None
        if table is not None:
            with self._lock:
                staged = self.dir / "staged" / f"{len(self.entries)}.parquet"
                self.entries[str(rel)] = str(staged.relative_to(self.dir))
            staged.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, staged, compression="zstd", use_dictionary=list(kind.dictionary),
                           write_statistics=list(kind.statistics))
        else:
            with self._lock:
                self.entries[str(rel)] = None
        crash_point("staged")
        return staged

    def _undo_path(self, rel: Path, name: str) -> Path:
        path = self.dir / "undo" / rel.parent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def link_added(self, rel: Path, staged: Path) -> None:
        os.link(staged, self._undo_path(rel, "added.parquet"))  # a new partition: all of it was added

    def record_added(self, rel: Path, keys: pa.Table) -> None:
        pq.write_table(keys, self._undo_path(rel, "added.parquet"))

    def record_removed(self, rel: Path, rows: pa.Table) -> None:
        pq.write_table(rows, self._undo_path(rel, "removed.parquet"))

    def commit(self, kind: str, partitions: list[tuple[str, str]], manifest: dict | None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        info = {**(manifest or {}), "txid": self.txid, "kind": kind, "partitions": [list(p) for p in partitions],
                "undo_of": (manifest or {}).get("undo_of")}
        plan = {"entries": self.entries, "manifest": info}
        _write_text_atomic(self.dir / "plan.json", json.dumps(plan))
        crash_point("planned")
        _fsync_dir(self.dir)
        os.rename(self.dir / "plan.json", self.dir / "COMMITTED")  # the commit point
        _fsync_dir(self.dir)
        crash_point("committed")

    def apply(self) -> None:
        plan = json.loads((self.dir / "COMMITTED").read_text(encoding="utf-8"))
        for month, outlet in plan["manifest"]["partitions"]:  # the roll-ups are behind until refreshed
            mark = self.root / STALE_DIR / f"month={month}" / f"outlet={outlet}"
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.touch()
        for rel, staged in plan["entries"].items():
            target = self.root / rel
            if staged is None:
                target.unlink(missing_ok=True)
                for d in (target.parent, target.parent.parent):
                    try:
                        d.rmdir()
                    except OSError:
                        break
            elif (self.dir / staged).exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.dir / staged, target)
            crash_point("moved")
        info = plan["manifest"]
        record = self.root / UNDO_DIR / self.txid
        if info.get("undo_of"):
            done = self.root / UNDO_DIR / info["undo_of"] / "manifest.json"
            if done.exists():
                original = json.loads(done.read_text(encoding="utf-8"))
                original["undone"] = True
                _write_text_atomic(done, json.dumps(original))
        else:
            if (self.dir / "undo").exists():
                record.parent.mkdir(parents=True, exist_ok=True)
                if record.exists():
                    _rmtree(record)
                os.rename(self.dir / "undo", record)
            record.mkdir(parents=True, exist_ok=True)
            _write_text_atomic(record / "manifest.json", json.dumps(info))
        crash_point("recorded")
        _rmtree(self.dir)
        crash_point("cleaned")

    def abandon(self) -> None:
        _rmtree(self.dir)


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _rows_equal(a: pa.Table, b: pa.Table, columns: Sequence[str]) -> np.ndarray:
    """Row by row: do a and b agree on every column (two missing values agree)?"""
    same = np.ones(a.num_rows, bool)
    for c in columns:
        x, y = a[c], b[c].cast(a[c].type)
        eq = pc.or_(pc.fill_null(pc.equal(x, y), False), pc.and_(pc.is_null(x), pc.is_null(y)))
        same &= eq.to_numpy(zero_copy_only=False)
    return same


def _kind(name: str) -> _Kind:
    return {"tickets": TICKETS, "devices": DEVICES}[name]


def _read_parquet_sql(glob: str) -> str:
    quoted = "'" + glob.replace("'", "''") + "'"
    return (f"read_parquet({quoted}, hive_partitioning = true, "
            "hive_types = {'month': VARCHAR, 'outlet': VARCHAR})")


def _write_atomic(table: pa.Table, path: Path, kind: _Kind) -> None:
    """Write next to the target, then rename over it: readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=list(kind.dictionary),
                       write_statistics=list(kind.statistics))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------- import


def import_ticket_files(
    paths: Iterable[str | os.PathLike],
    root: str | os.PathLike,
    known_outlets: Iterable[str] | None,
    progress_callback: Progress | None = None,
    *,
    tier_codes: Sequence[str] = CUSTOMER_TIERS,
    max_errors: int = DEFAULT_MAX_ERRORS,
    replace: bool = False,
    txid: str | None = None,
    aliases: Mapping[str, Mapping[str, str]] | None = None,
) -> ImportSummary:
    """Read, validate and store ticket files one by one: each file's good rows are stored, its bad rows
    reported (first ``max_errors`` per file with line numbers; counts are complete), none of them stored.

    ``progress_callback(done_rows, total_rows)``: total_rows is exact for the files read so far and
    estimated from file sizes for the rest; the last call has done_rows == total_rows.
    """
    return _import(TICKETS, paths, root, known_outlets, progress_callback,
                   lambda raw, known: validate_tickets(raw, known, tier_codes, max_errors=max_errors,
                                                       aliases=aliases),
                   replace=replace, txid=txid)


def import_device_files(
    paths: Iterable[str | os.PathLike],
    root: str | os.PathLike,
    known_outlets: Iterable[str] | None,
    progress_callback: Progress | None = None,
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
    replace: bool = False,
    txid: str | None = None,
) -> ImportSummary:
    """Like import_ticket_files, for smart-device transaction logs (replace mode applies to tickets only)."""
    return _import(DEVICES, paths, root, known_outlets, progress_callback,
                   lambda raw, known: validate_devices(raw, known, max_errors=max_errors), txid=txid)


def _add_conflicts(report: FileReport, conflicts: list[tuple[int, str]], kind: _Kind) -> None:
    """Rows that differ from the stored ticket of their key: rejected, the stored ticket kept."""
    if not conflicts:
        return
    report.rejected += len(conflicts)
    report.error_count += len(conflicts)
    report.errors.extend(RowError(line, name, STORED_CONFLICT, "",
                                  f"another {kind.duplicate_noun} with this key is stored with a different {name}; "
                                  "import the corrected file in replace mode") for line, name in conflicts)
    report.errors.sort(key=lambda e: e.line)


def _import(kind: _Kind, paths: Iterable[str | os.PathLike], root: str | os.PathLike,
            known_outlets: Iterable[str] | None, progress: Progress | None,
            validate: Callable[[pa.Table, set[str] | None], Validation], *, replace: bool = False,
            txid: str | None = None) -> ImportSummary:
    paths = [Path(p) for p in paths]
    known = None if known_outlets is None else {str(c) for c in known_outlets}
    store = TicketStore(root)
    summary = ImportSummary()
    sizes = [p.stat().st_size if p.exists() else 0 for p in paths]
    rows_done, bytes_done, rows_seen = 0, 0, 0

    for i, path in enumerate(paths):
        report = FileReport(path=str(path))
        summary.files.append(report)
        try:
            raw = _read_file(path, kind.columns)
        except ImportFileError as exc:
            report.file_error = FileError(exc.code, exc.message, exc.column, exc.line)
            bytes_done += sizes[i]
            continue
        raw_rows = raw.num_rows  # blank lines included: progress counts what was read
        rows_seen += raw_rows
        bytes_done += sizes[i]
        # rows still to come, guessed from the bytes per row seen so far
        rest = sum(sizes[i + 1:])
        total = rows_seen + (round(rest * rows_seen / bytes_done) if bytes_done and rows_seen else 0)
        base = rows_done
        if progress:
            progress(base, total)  # the file is read: the total is known (or better guessed) from here on

        def report_progress(done: int, _n: int, base: int = base, total: int = total) -> None:
            if progress:
                progress(base + done, total)

        checked = validate(raw, known)
        del raw
        report.rows_read, report.rejected = checked.rows, checked.rejected
        report.error_count = checked.error_count
        report.recalls, report.errors = checked.recalls, checked.errors
        skipped = raw_rows - checked.good.num_rows
        report_progress(skipped, total)
        appended = store._append(
            kind, checked.good, lambda done, _n, skipped=skipped: report_progress(skipped + done, _n),
            lines=checked.good_lines, replace=replace,
            txid=None if txid is None else (txid if len(paths) == 1 else f"{txid}-{i}"),
            manifest={"file": path.name, "rows_read": checked.rows, "rejected": checked.rejected,
                      "recalls": checked.recalls, "error_count": checked.error_count,
                      "errors": [[e.line, e.field, e.reason, e.value] for e in checked.errors]})
        _add_conflicts(report, appended.conflicts, kind)
        report.added, report.already_stored, report.partitions = (
            appended.added, appended.already_stored, appended.partitions)
        report.replaced, report.replaced_days, report.txid = appended.replaced, appended.replaced_days, appended.txid
        rows_done += raw_rows
        report_progress(raw_rows, total)

        summary.rows_read += report.rows_read
        summary.added += report.added
        summary.already_stored += report.already_stored
        summary.recalls += report.recalls
        summary.rejected += report.rejected
        summary.error_count += report.error_count
    summary.partitions = sorted({p for f in summary.files for p in f.partitions})
    if progress:
        progress(rows_done, rows_done)
    return summary


def preview_replace(path: str | os.PathLike, root: str | os.PathLike,
                    known_outlets: Iterable[str] | None) -> dict[str, list[date]]:
    """The stored (outlet, day)s a replace-mode import of this ticket file would replace, by outlet.

    Reads and validates the file without writing; ImportFileError for a file that cannot be imported.
    """
    checked = validate_tickets(read_ticket_file(path), known_outlets, max_errors=0)
    pairs = checked.good.select(["outlet_code", "ticket_date"]).group_by(["outlet_code", "ticket_date"]).aggregate([])
    return TicketStore(root).stored_days(zip(pairs["outlet_code"].to_pylist(), pairs["ticket_date"].to_pylist(),
                                             strict=True))
