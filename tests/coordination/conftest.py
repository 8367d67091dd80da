import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps

from branchops.coordination import services
from branchops.coordination.models import Item, ReviewDimension, ReviewRemit, ReviewRequirement, Settings
from branchops.core import clock
from branchops.org import services as org
from branchops.org.roles import Role


@pytest.fixture
def coord_bank(bank):
    """The bank with a business department (PFB), two review departments with their remits."""
    b = bank
    if not ReviewDimension.objects.exists():  # a transactional test flushed what the migrations seeded
        for seed in ("0002_review_dimensions", "0008_review_gate"):
            importlib.import_module(f"branchops.coordination.migrations.{seed}").load(django_apps, None)
    b.pfb = org.save_department(None, institution=b.branch, code="PFB", name="个人金融业务部", is_business=True)
    b.icc = org.save_department(None, institution=b.branch, code="ICC", name="内控合规部", is_review=True)
    b.person("pfb1", b.branch, [Role.SUBMITTER], department=b.pfb)
    b.person("icc1", b.branch, [Role.REVIEWER], department=b.icc)
    b.person("legal1", b.branch, [Role.REVIEWER], department=b.legal)
    for dept, codes in ((b.icc, ["compliance"]), (b.legal, ["consumer_rights"])):
        remit = ReviewRemit.objects.create(department=dept)
        remit.dimensions.set(ReviewDimension.objects.filter(code__in=codes))
    b.dim = {d.code: d for d in ReviewDimension.objects.all()}
    # The small bank's configuration of the gate: its two review departments are its quorum, and
    # every item type needs what they cover (the seed's defaults need seven dimensions).
    Settings.objects.filter(branch=b.branch).update(quorum_review_departments=2)
    for req in ReviewRequirement.objects.all():
        req.dimensions.set([b.dim["compliance"], b.dim["consumer_rights"]])
    return b


def review(b, item, **extra):
    """Both review departments give a current opinion without concern on every dimension of their remit."""
    item = Item.objects.get(pk=item.pk)
    for user, code in (("icc1", "compliance"), ("legal1", "consumer_rights")):
        services.give_opinion(b.users[user], item, recommendation="approve",
                              lines=[{"dimension": b.dim[code], "concern": False}])
    return Item.objects.get(pk=item.pk)


def hold(b, meeting, chair="leader1", attendees=("sec1", "icc1", "legal1", "leader1")):
    """On the meeting's day: the chair and both review departments present (a quorate meeting)."""
    from tests.conftest import on_meeting_day

    on_meeting_day(meeting)
    return services.record_attendance(b.users["sec1"], meeting, [b.users[u] for u in attendees],
                                      chair=b.users[chair] if chair else None)


def ready(b, item):
    """Reviewed, frozen and held: the item can be decided."""
    item = review(b, item)
    services.freeze_agenda(b.users["sec1"], item.meeting)
    hold(b, item.meeting)
    return Item.objects.get(pk=item.pk)


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
