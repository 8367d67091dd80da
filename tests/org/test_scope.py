import pytest
from django.http import Http404

from branchops.org import queries
from branchops.org.models import Institution


def test_outlet_user_sees_only_own_outlet(bank):
    user = bank.users["staff11"]
    codes = set(queries.institutions(user).values_list("code", flat=True))
    assert codes == {"SZ0101"}


def test_sub_branch_user_sees_its_subtree(bank):
    codes = set(queries.institutions(bank.users["sb1mgr"]).values_list("code", flat=True))
    assert codes == {"SZ01", "SZ0101", "SZ0102"}


def test_branch_user_sees_whole_branch_not_head_office(bank):
    codes = set(queries.institutions(bank.users["leader1"]).values_list("code", flat=True))
    assert "HO" not in codes and {"SZ", "SZ01", "SZ02", "SZ0201"} <= codes


def test_access_other_outlet_is_404_like_missing(bank):
    user = bank.users["staff11"]
    assert queries.access_institution(user, bank.o11.pk) == bank.o11
    with pytest.raises(Http404):
        queries.access_institution(user, bank.o12.pk)
    missing = Institution.objects.order_by("-pk").first().pk + 1000
    with pytest.raises(Http404):
        queries.access_institution(user, missing)


def test_staff_scope(bank):
    names = set(queries.staff(bank.users["staff12"]).values_list("user__username", flat=True))
    assert names == {"staff12"}
