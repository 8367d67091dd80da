from datetime import datetime

import pytest
from django.utils import timezone

from branchops.cases import services
from branchops.cases.defaults import load_complaint_codes, load_reference_data
from branchops.cases.models import CaseType, Category, ComplaintCode, SlaPolicy
from branchops.org import services as org
from branchops.org.roles import Role

from ..conftest import ago


def at(y, m, d, h=10):
    return timezone.make_aware(datetime(y, m, d, h))


@pytest.fixture
def cases_bank(bank):
    # Transactional tests flush the tables the data migration filled; put the defaults back.
    load_reference_data(Category, SlaPolicy)
    load_complaint_codes(ComplaintCode)
    bank.cpp = org.save_department(None, institution=bank.branch, code="CPP", name="消费者权益保护部", is_business=True)
    bank.fintech = org.save_department(None, institution=bank.branch, code="FINTECH", name="金融科技部",
                                       is_review=True)
    bank.person("cpp1", bank.branch, [Role.REVIEWER], department=bank.cpp)
    bank.person("ft1", bank.branch, [Role.REVIEWER], department=bank.fintech)
    repair = Category.objects.get(case_type=CaseType.SUPPORT, code="REPAIR")
    org_dept = bank.fintech
    Category.objects.filter(pk=repair.pk).update(department=org_dept)
    return bank


@pytest.fixture
def complaint(cases_bank):
    def make(actor=None, received=None, **extra):
        b = cases_bank
        actor = actor or b.users["staff11"]
        data = {"complainant_name": "张三", "complainant_phone": "13812345678",
                "complainant_id_number": "440301199001011234"}
        data.update(extra.pop("complaint", {}))
        extra.setdefault("channel", "on_site")
        return services.open_case(actor, case_type=CaseType.COMPLAINT, institution=b.o11, title="排队太久",
                                  description="客户等候超过40分钟", complaint=data,
                                  received_at=received or ago(hours=2), **extra)

    return make
