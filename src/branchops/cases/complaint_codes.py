"""Complaint classification code tables after JR/T 0169-2018, loaded from versioned JSON.

JR/T 0169-2018《金融消费者投诉统计分类及编码 银行业金融机构》 (PBOC, issued and effective
2018-09-04) classifies a bank complaint in three dimensions: 业务办理渠道 (``channel``), 业务类别
(``business``) and 投诉原因 (``cause``). The tables live in ``data/jrt0169_2018.json``; a later edition
of the standard goes in a new file next to it, so recorded complaints keep the edition they were
coded under.

What the data file does and does not claim (see its ``note``; it has NOT been checked against the
official text of the standard):

* The standard's number, title, issuer and date come from public standard catalogues.
* Every code (``A.01``, ``B.03.02``, ``C.12`` ...: dimension letter, two-digit segments, ``99`` for
  “其他”) is BranchOps' own numbering, not the standard's official code, pending the official text.
* Entries with ``provenance == "reported"`` have names and places in the hierarchy reported alike by
  several public secondary sources (a PBOC sub-branch's implementation report, banks' published
  complaint analyses, third-party complaint systems): all 13 channel entries, the 14 business
  categories plus 借记卡/信用卡 (placed under 银行卡 by inference), and causes 1-12.
* Entries with ``provenance == "branchops"`` (loan, payment, cash and agency sub-types; cause “其他”)
  are BranchOps' own subdivisions and are not claimed to be in the standard.

Pure Python: no Django import, so management commands, importers and tests can use it directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "jrt0169_2018.json"

#: The dimensions of the standard, in the order they are presented and iterated.
DIMENSIONS = ("channel", "business", "cause")

PROVENANCES = ("reported", "branchops")


class StandardFormatError(ValueError):
    """The file is not shaped like a code table (missing keys, wrong types, bad date)."""


@dataclass(frozen=True)
class Code:
    dimension: str
    code: str
    name: str
    parent: str | None
    #: 1 for a top-level code; 0 when the parent chain is broken (unknown parent or a cycle).
    level: int
    description: str = ""
    provenance: str = ""


@dataclass(frozen=True)
class Standard:
    standard: str
    version: str
    effective_from: date
    dimensions: dict[str, list[Code]]
    title: str = ""
    note: str = ""
    dimension_names: dict[str, str] = field(default_factory=dict)


def load_standard(path: str | Path | None = None) -> Standard:
    """Read a code table file (the bundled JR/T 0169-2018 one by default).

    Raises ``StandardFormatError`` for a malformed file; content problems (duplicates, unknown
    parents, cycles, empty names) load fine and are reported by ``validate``.
    """
    path = Path(path) if path is not None else DATA_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StandardFormatError(f"{path}: not valid JSON: {exc}") from exc
    return parse_standard(data)


def parse_standard(data: Mapping) -> Standard:
    """Build a ``Standard`` from the decoded JSON structure."""
    if not isinstance(data, Mapping):
        raise StandardFormatError("top level must be an object")
    for key in ("standard", "version", "effective_from", "dimensions"):
        if key not in data:
            raise StandardFormatError(f"missing key {key!r}")
    try:
        effective_from = date.fromisoformat(str(data["effective_from"]))
    except ValueError as exc:
        raise StandardFormatError(f"effective_from is not an ISO date: {data['effective_from']!r}") from exc
    if not isinstance(data["dimensions"], Mapping):
        raise StandardFormatError("dimensions must be an object")

    dimensions: dict[str, list[Code]] = {}
    names: dict[str, str] = {}
    for dimension, body in data["dimensions"].items():
        if not isinstance(body, Mapping) or not isinstance(body.get("codes"), list):
            raise StandardFormatError(f"dimension {dimension!r} must be an object with a 'codes' list")
        names[dimension] = str(body.get("name", ""))
        rows = []
        for i, row in enumerate(body["codes"]):
            if not isinstance(row, Mapping) or "code" not in row or "name" not in row:
                raise StandardFormatError(f"{dimension} entry #{i + 1} needs 'code' and 'name'")
            parent = row.get("parent")
            rows.append((str(row["code"]), str(row["name"]), None if parent is None else str(parent), row))
        levels = _levels([(code, parent) for code, _, parent, _ in rows])
        dimensions[dimension] = [
            Code(dimension=dimension, code=code, name=name, parent=parent, level=levels[code],
                 description=str(row.get("description", "")), provenance=str(row.get("provenance", "")))
            for code, name, parent, row in rows
        ]
    return Standard(standard=str(data["standard"]), version=str(data["version"]), effective_from=effective_from,
                    dimensions=dimensions, title=str(data.get("title", "")), note=str(data.get("note", "")),
                    dimension_names=names)


def _levels(pairs: list[tuple[str, str | None]]) -> dict[str, int]:
    """Depth of each code (1 = top level); 0 where the chain hits an unknown parent or a cycle."""
    parents: dict[str, str | None] = {}
    for code, parent in pairs:
        parents.setdefault(code, parent)  # the first of duplicate codes wins
    levels: dict[str, int] = {}
    for start in parents:
        chain, node = [], start
        while node is not None and node in parents and node not in levels and node not in chain:
            chain.append(node)
            node = parents[node]
        if node is None:
            depth = 0
        elif node in levels and levels[node] > 0:
            depth = levels[node]
        else:  # unknown parent, a cycle, or a chain already known to be broken
            for code in chain:
                levels[code] = 0
            continue
        for code in reversed(chain):
            depth += 1
            levels[code] = depth
    return levels


def validate(standard: Standard) -> list[str]:
    """Problems in the tables, as readable sentences; an empty list means the tables are sound."""
    problems: list[str] = []
    for dimension in DIMENSIONS:
        if not standard.dimensions.get(dimension):
            problems.append(f"{dimension}: dimension missing or empty")
    for dimension, codes in standard.dimensions.items():
        seen: dict[str, Code] = {}
        for c in codes:
            label = f"{dimension} {c.code!r}"
            if c.dimension != dimension:
                problems.append(f"{label}: filed under {dimension} but marked {c.dimension!r}")
            if not c.code.strip():
                problems.append(f"{dimension}: empty code (name {c.name!r})")
            if not c.name.strip():
                problems.append(f"{label}: empty name")
            if c.code in seen:
                problems.append(f"{label}: duplicate code ({seen[c.code].name!r} and {c.name!r})")
            else:
                seen[c.code] = c
        for c in codes:
            if c.parent is not None and c.parent not in seen:
                problems.append(f"{dimension} {c.code!r}: unknown parent {c.parent!r}")
        problems.extend(f"{dimension}: parent cycle {' -> '.join(cycle)}" for cycle in _cycles(seen))
    return problems


def _cycles(codes: Mapping[str, Code]) -> list[list[str]]:
    """Each parent cycle once, as the codes in it followed by the first again."""
    cycles, done = [], set()
    for start in codes:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in codes and node not in done and node not in path:
            path.append(node)
            node = codes[node].parent
        if node in path:
            loop = path[path.index(node):]
            cycles.append([*loop, node])
        done.update(path)
    return cycles


def iter_codes(standard: Standard, dimension: str | None = None) -> Iterator[Code]:
    """Every code, parents before their children (depth first, file order among siblings).

    Dimensions come in ``DIMENSIONS`` order, then any others. Codes that hang off nothing (unknown
    parent, or caught in a cycle) come last in their dimension, in file order, so nothing is lost.
    """
    if dimension is not None:
        names = [dimension]
    else:
        names = [d for d in DIMENSIONS if d in standard.dimensions]
        names += [d for d in standard.dimensions if d not in DIMENSIONS]
    for name in names:
        codes = standard.dimensions.get(name, [])
        children: dict[str | None, list[Code]] = {}
        for c in codes:
            children.setdefault(c.parent, []).append(c)
        emitted: set[int] = set()
        expanded: set[str] = set()
        stack = list(reversed(children.get(None, [])))
        while stack:
            c = stack.pop()
            if id(c) in emitted:
                continue
            emitted.add(id(c))
            yield c
            if c.code not in expanded:  # a duplicate code's children are listed once
                expanded.add(c.code)
                stack.extend(reversed(children.get(c.code, [])))
        for c in codes:
            if id(c) not in emitted:
                yield c


def lookup(standard: Standard, dimension: str, code: str) -> Code | None:
    """The entry for ``code`` in ``dimension``, or None."""
    return next((c for c in standard.dimensions.get(dimension, []) if c.code == code), None)


def ancestry(standard: Standard, dimension: str, code: str) -> list[Code]:
    """``code`` and its ancestors, top level first (e.g. 前台业务渠道 › 电子渠道 › 移动客户端)."""
    index = {}
    for c in standard.dimensions.get(dimension, []):
        index.setdefault(c.code, c)
    chain: list[Code] = []
    node = index.get(code)
    while node is not None and node not in chain:
        chain.append(node)
        node = index.get(node.parent) if node.parent is not None else None
    return chain[::-1]
