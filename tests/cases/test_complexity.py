"""Views, API and services of cases, org and queueing stay readable: every function (methods and
inner functions too) under cyclomatic complexity 15, as radon counts it. A larger one is split into
named helpers. (tests/core/test_complexity.py holds the same bar for coordination and dispatch.)"""

from pathlib import Path

import pytest
from radon.complexity import cc_visit

import branchops

APPS = ["cases", "org", "queueing"]
MODULES = ["views", "api", "services"]
LIMIT = 15


def _functions(blocks):
    for block in blocks:
        if hasattr(block, "methods"):  # a class: its methods
            yield from _functions(block.methods)
            continue
        yield block
        yield from _functions(block.closures)


@pytest.mark.parametrize("app", APPS)
def test_no_function_reaches_complexity_15(app):
    root = Path(branchops.__file__).parent / app
    files = [root / f"{m}.py" for m in MODULES if (root / f"{m}.py").exists()]
    assert files, app
    too_complex = [f"{path.relative_to(root.parent)}:{f.lineno} {f.fullname} ({f.complexity})"
                   for path in files for f in _functions(cc_visit(path.read_text(encoding="utf-8")))
                   if f.complexity >= LIMIT]
    assert not too_complex, too_complex
