"""Nothing is fetched from outside at run time: pages reference local static files only."""

import re
from pathlib import Path

import branchops

TEMPLATES = Path(branchops.__file__).parent / "templates"
EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""", re.I)


def test_templates_reference_no_external_assets():
    offenders = [f"{p.relative_to(TEMPLATES)}:{i}" for p in TEMPLATES.rglob("*.html")
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if EXTERNAL.search(line)]
    assert not offenders
