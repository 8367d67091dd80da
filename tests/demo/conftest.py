"""One demo branch per test run: the organisation (``build_demo``, the slowest part) is built once for
the whole package, inside a transaction rolled back when the package is done; each module adds its
part (coordination, cases, tickets) in a savepoint of its own, rolled back at the module's end, so
the modules do not see each other's data. All demo tests run on one xdist worker (``xdist_group``
with ``--dist loadgroup``), so the branch is built once per run, not once per module or worker."""

import pytest
from django.db import transaction

from branchops.demo.data import build_demo


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith("tests/demo/"):
            item.add_marker(pytest.mark.xdist_group("demo"))


@pytest.fixture(scope="package")
def demo_branch(django_db_setup, django_db_blocker):
    """The demo organisation's counts (``build_demo``), built once."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            counts = build_demo()
            yield counts
            transaction.set_rollback(True)


@pytest.fixture(scope="module")
def demo_part(demo_branch, django_db_blocker):
    """A savepoint over the demo branch for one module's own part; rolled back at its end."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield demo_branch
            transaction.set_rollback(True)
