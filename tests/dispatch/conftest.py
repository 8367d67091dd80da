import pytest

from branchops.coordination import services
from tests.coordination.conftest import coord_bank, draft, ready  # noqa: F401


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def approved(coord_bank, draft):  # noqa: F811
    """An item submitted, put on a frozen agenda and approved: it carries an approval number."""

    def make(before_submit=None, **extra):
        b = coord_bank
        item = draft(**extra)
        if before_submit is not None:
            before_submit(item)
        item = ready(b, services.submit_item(b.users["pfb1"], item))
        return services.record_decision(b.users["sec1"], item, "approved")

    return make


@pytest.fixture
def released(coord_bank, approved):  # noqa: F811
    """An approved item released to its three outlets as work orders."""

    def make(override_reason="", **extra):
        item = approved(**extra)
        services.release_item(coord_bank.users["sec1"], item, override_reason=override_reason)
        item.refresh_from_db()
        return item

    return make
