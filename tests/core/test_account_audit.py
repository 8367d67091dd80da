"""Who may do what leaves a trace: groups, user permissions and the superuser/staff flags changed in the
admin, a shell or a service appear in the person's timeline, with who did it and when (core clock)."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from branchops.core import clock
from branchops.core.audit import timeline
from branchops.core.models import TimelineEntry
from branchops.org import services as org
from branchops.org.roles import Role
from tests.conftest import PASSWORD

User = get_user_model()


def entries(person, *verbs):
    qs = TimelineEntry.objects.filter(object_id=str(person.pk), content_type__model=person._meta.model_name)
    return list(qs.filter(verb__in=verbs)) if verbs else list(qs)


def admin_save(client, user, *, groups=None, perms=None, **flags):
    """POST the admin's user change form as an administrator would, changing only what is given."""
    user.refresh_from_db()
    data = {"username": user.username, "first_name": user.first_name, "last_name": user.last_name,
            "email": user.email, "date_joined_0": timezone.localtime(user.date_joined).date().isoformat(),
            "date_joined_1": "09:00:00", "last_login_0": "", "last_login_1": "",
            "groups": [g.pk for g in (groups if groups is not None else user.groups.all())],
            "user_permissions": [p.pk for p in (perms if perms is not None else user.user_permissions.all())]}
    for flag in ("is_active", "is_staff", "is_superuser"):
        if flags.get(flag, getattr(user, flag)):
            data[flag] = "on"
    r = client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r.content
    user.refresh_from_db()
    return user


@pytest.fixture
def admin_client_as(superuser):
    c = Client()
    c.force_login(superuser)
    return c


def test_adding_someone_to_the_administrator_group_in_the_admin_is_in_their_timeline(bank, superuser,
                                                                                     admin_client_as):
    user = bank.users["staff11"]
    clock.travel_to(clock.now() + timedelta(hours=3))
    at = clock.now()
    admins = Group.objects.get(name=Role.ADMINISTRATOR)
    admin_save(admin_client_as, user, groups=[*user.groups.all(), admins])
    assert user.groups.filter(pk=admins.pk).exists()
    [entry] = entries(user.staff, "groups_added")
    assert entry.actor == superuser and entry.data == {"account": "staff11", "groups": ["administrator"]}
    assert abs((entry.created_at - at).total_seconds()) < 60  # dated by the core clock, not the wall clock
    assert "groups_added" in [e.action for e in timeline(user.staff)]
    # The person's page shows it.
    page = admin_client_as.get(f"/org/people/{user.staff.pk}/")
    assert page.status_code == 200 and str(Role.ADMINISTRATOR.label) in page.content.decode()

    admin_save(admin_client_as, user, groups=[g for g in user.groups.all() if g != admins])
    [removed] = entries(user.staff, "groups_removed")
    assert removed.actor == superuser and removed.data["groups"] == ["administrator"]


def test_superuser_and_staff_flags_and_permissions_changed_in_the_admin_are_recorded(bank, superuser,
                                                                                     admin_client_as):
    user = bank.users["head11"]
    admin_save(admin_client_as, user, is_superuser=True, is_staff=True)
    assert user.is_superuser
    [entry] = entries(user.staff, "account_flags_changed")
    assert entry.actor == superuser
    assert entry.data["changed"] == {"is_superuser": [False, True], "is_staff": [False, True]}
    perm = Permission.objects.get(codename="change_staff", content_type__app_label="org")
    admin_save(admin_client_as, user, perms=[perm])
    [granted] = entries(user.staff, "permissions_added")
    assert granted.actor == superuser and granted.data["permissions"] == ["org.change_staff"]
    admin_save(admin_client_as, user, perms=[], is_superuser=False)
    assert entries(user.staff, "permissions_removed")[0].data["permissions"] == ["org.change_staff"]
    assert entries(user.staff, "account_flags_changed")[0].data["changed"] == {"is_superuser": [True, False]}


def test_changes_outside_a_request_are_recorded_as_the_system(bank):
    """A shell or a script: no request, so no actor; the entry is still there."""
    user = bank.users["staff12"]
    admins = Group.objects.get(name=Role.ADMINISTRATOR)
    admins.user_set.add(user)  # from the group's side
    [entry] = entries(user.staff, "groups_added")
    assert entry.actor is None and entry.data["groups"] == ["administrator"]
    user.groups.clear()
    [cleared] = entries(user.staff, "groups_removed")
    assert set(cleared.data["groups"]) == {"administrator", "outlet_staff"}
    user.is_superuser = True
    user.save()
    assert entries(user.staff, "account_flags_changed")[0].data["changed"] == {"is_superuser": [False, True]}


def test_a_new_superuser_without_a_person_is_recorded_on_the_account(db):
    root = User.objects.create_superuser("root2", "r@example.com", PASSWORD)
    [entry] = entries(root, "account_flags_changed")
    assert entry.data["changed"] == {"is_superuser": [False, True], "is_staff": [False, True]}


def test_the_roles_service_writes_one_entry_in_the_roles_words(bank):
    user = bank.users["staff21"]
    before = {e.pk for e in entries(user.staff)}
    org.set_roles(bank.users["admin1"], user.staff, [Role.OUTLET_STAFF, Role.ADMINISTRATOR])
    [entry] = [e for e in entries(user.staff) if e.pk not in before]
    assert entry.verb == "roles_changed"
    assert entry.actor == bank.users["admin1"] and "administrator" in entry.data["after"]


def test_signing_in_and_ordinary_saves_leave_no_entry(bank):
    user = bank.users["staff11"]
    assert Client().post("/accounts/login/", {"username": "staff11", "password": PASSWORD}).status_code == 302
    user.refresh_from_db()
    user.first_name = "新名字"
    user.save()
    assert entries(user.staff, "groups_added", "groups_removed", "account_flags_changed") == []


def test_revoking_or_extending_a_token_in_the_admin_is_recorded(bank, superuser, admin_client_as):
    from branchops.core import services as core

    user = bank.users["staff11"]
    token, _raw = core.create_api_token(user, "script")
    later = timezone.localtime(clock.now() + timedelta(days=400))
    r = admin_client_as.post(f"/admin/core/apitoken/{token.pk}/change/", {
        "expires_at_0": later.date().isoformat(), "expires_at_1": "10:00:00", "revoked_at_0": "",
        "revoked_at_1": ""})
    assert r.status_code == 302
    [changed] = entries(user, "token_changed")
    assert changed.actor == superuser and set(changed.data) == {"expires_at"}
    now = timezone.localtime(clock.now())
    r = admin_client_as.post(f"/admin/core/apitoken/{token.pk}/change/", {
        "expires_at_0": later.date().isoformat(), "expires_at_1": "10:00:00",
        "revoked_at_0": now.date().isoformat(), "revoked_at_1": now.strftime("%H:%M:%S")})
    assert r.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    revoked = [e for e in entries(user, "token_revoked") if e.actor == superuser]
    assert len(revoked) == 1 and "revoked_at" in revoked[0].data
