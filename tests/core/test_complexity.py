"""Issue 11's bar: every function of an app's views, API and services stays under cyclomatic
complexity 15 (radon), methods and inner functions included, so that no view helper re-derives rules
by hand again: a larger one is split into named helpers. A new app joins ``APPS``."""

from pathlib import Path

import pytest
from radon.complexity import cc_visit

import branchops

APPS = ["cases", "coordination", "dispatch", "org", "queueing", "service"]
MODULES = ["views", "api", "services"]
# An app that split its pages, API and services into more modules lists them too.
MORE_MODULES = [("service", m) for m in ("input_views", "input_api", "briefing", "briefing_views", "briefing_api")]
LIMIT = 15


def _functions(blocks):
    """Every function radon sees: top-level ones, methods and closures."""
    for block in blocks:
        if hasattr(block, "methods"):  # a class
            yield from _functions(block.methods)
            continue
        yield block
        yield from _functions(block.closures)


@pytest.mark.parametrize(("app", "module"), [(a, m) for a in APPS for m in MODULES] + MORE_MODULES)
def test_every_function_is_under_the_complexity_bar(app, module):
    path = Path(branchops.__file__).parent / app / f"{module}.py"
    functions = list(_functions(cc_visit(path.read_text(encoding="utf-8"))))
    assert functions, f"{path} has no functions: is the module list right?"
    over = sorted(f"{f.fullname} (line {f.lineno}): {f.complexity}" for f in functions if f.complexity >= LIMIT)
    assert not over, f"{app}/{module}.py: cyclomatic complexity {LIMIT} or more in {over}"
