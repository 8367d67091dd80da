from datetime import timedelta

import pytest

from branchops.coordination import services
from branchops.coordination.models import ReviewDimension, ReviewRemit
from branchops.core import clock
from branchops.org import services as org
from branchops.org.roles import Role


@pytest.fixture
def coord_bank(bank):
    """The bank with a business department (PFB), two review departments with their remits."""
    b = bank
    b.pfb = org.save_department(None, institution=b.branch, code="PFB", name="个人金融业务部", is_business=True)
    b.icc = org.save_department(None, institution=b.branch, code="ICC", name="内控合规部", is_review=True)
    b.person("pfb1", b.branch, [Role.SUBMITTER], department=b.pfb)
    b.person("icc1", b.branch, [Role.REVIEWER], department=b.icc)
    b.person("legal1", b.branch, [Role.REVIEWER], department=b.legal)
    for dept, codes in ((b.icc, ["compliance"]), (b.legal, ["consumer_rights"])):
        remit = ReviewRemit.objects.create(department=dept)
        remit.dimensions.set(ReviewDimension.objects.filter(code__in=codes))
    b.dim = {d.code: d for d in ReviewDimension.objects.all()}
    return b


@pytest.fixture
def draft(coord_bank):
    def make(**extra):
        start = clock.today() + timedelta(days=14)
        fields = dict(title="新版手机银行上线网点推广", item_type="new_business", background="新版本上线，需网点配合推广",
                      actions="向到店客户介绍新功能并协助下载", effort_hours=4, window_start=start,
                      window_end=start + timedelta(days=13), urgency="normal", customer_facing=True,
                      online_justification="新功能需要面对面指导老年客户完成首次登录，无法完全线上完成")
        fields.update(extra)
        return services.save_item(coord_bank.users["pfb1"], **fields)

    return make


def today():
    return clock.today()
