import pytest

from branchops.org.models import Post
from branchops.org.roles import Role
from branchops.workforce.models import CSM_POST, CertificateType, Skill

from ..conftest import PASSWORD  # noqa: F401


@pytest.fixture
def wf(bank):
    """The bank with customer service managers: csm11 and csm11b at the hub outlet, csm12 at the satellite,
    csm21 at the other sub-branch's outlet; the head of that outlet; the seed's lists (by migration)."""
    bank.csm = Post.objects.get_or_create(code=CSM_POST, defaults={"name": "客服经理"})[0]
    for key, outlet in (("csm11", bank.o11), ("csm11b", bank.o11), ("csm12", bank.o12), ("csm21", bank.o21)):
        bank.person(key, outlet, [Role.OUTLET_STAFF], post=bank.csm)
    bank.person("head21", bank.o21, [Role.OUTLET_HEAD], post=bank.head)
    bank.staff = {k: u.staff for k, u in bank.users.items()}
    bank.licence = CertificateType.objects.get(code="csm_licence")
    bank.review_cert = CertificateType.objects.get(code="smart_review")
    bank.skill = {s.code: s for s in Skill.objects.all()}
    return bank
