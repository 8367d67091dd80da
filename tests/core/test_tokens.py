"""API tokens: a changed password revokes them, a new password must differ, revocation is final."""

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory

from branchops.core import services
from branchops.core.models import ApiToken, TimelineEntry
from tests.conftest import PASSWORD

NEW = "Another-pass-2026!"


def _token_works(raw) -> bool:
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_a_password_change_revokes_every_token(bank):
    user = bank.users["staff11"]
    _t1, raw1 = services.create_api_token(user, "script")
    _t2, raw2 = services.create_api_token(user, "report")
    other, raw_other = services.create_api_token(bank.users["head11"], "other")
    assert _token_works(raw1) and _token_works(raw2)
    c = Client()
    c.force_login(user)
    r = c.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW})
    assert r.status_code == 302, r.content
    assert not _token_works(raw1) and not _token_works(raw2)
    assert _token_works(raw_other)  # someone else's token stays
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 0
    entry = TimelineEntry.objects.filter(object_id=str(user.pk), verb="token_revoked").latest("id")
    assert entry.data == {"reason": "password_changed", "tokens": 2}


def test_the_new_password_must_differ_from_the_current_one(bank):
    user = bank.users["staff11"]
    _t, raw = services.create_api_token(user, "script")
    c = Client()
    c.force_login(user)
    r = c.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": PASSWORD,
                                        "new_password2": PASSWORD})
    assert r.status_code == 200 and r.context["form"].errors["new_password2"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and _token_works(raw)  # nothing changed


def test_revocation_is_final(bank, superuser):
    token, raw = services.create_api_token(bank.users["staff11"], "script")
    services.revoke_api_token(bank.users["staff11"], token.pk)
    token.refresh_from_db()
    token.revoked_at = None
    with pytest.raises(ValueError):
        token.save()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None and not _token_works(raw)
    # The admin shows the date but does not offer to clear it.
    request = RequestFactory().get("/")
    request.user = superuser
    revoked = ApiToken.objects.get(pk=token.pk)
    assert "revoked_at" in site._registry[ApiToken].get_readonly_fields(request, revoked)
    fresh, _raw = services.create_api_token(bank.users["staff11"], "fresh")
    assert "revoked_at" not in site._registry[ApiToken].get_readonly_fields(request, fresh)
