"""Demo workforce (issue 15, seed 002): every customer service manager of the demo branch gets the
持证上岗 licence (a few expiring within the window, one expired, two without one and a deadline with
coaching), skills granted by their outlet head — most hold two core skills, some one — and a few
single-skill managers are in 带、跟、转: one mentoring, one examined and assessed (due to convert), one
converted. All through the services, as the outlet heads would do it. Idempotent: a branch whose
managers already hold certificates is left alone."""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.org import services as org
from branchops.org.models import Institution, Staff
from branchops.org.roles import Role
from branchops.workforce import services
from branchops.workforce.models import CSM_POST, Certificate, CertificateType, Skill

from .data import BRANCH, _say

SEED = 15


def _head(outlet: Institution):
    return (Staff.objects.filter(institution=outlet, is_active=True, user__groups__name=Role.OUTLET_HEAD)
            .select_related("user").order_by("staff_no").first())


def build_demo_workforce(stdout=None, *, branch_code: str = BRANCH["code"]) -> dict:
    started = time.monotonic()
    branch = Institution.objects.filter(code=branch_code).first()
    if branch is None:
        return {"status": "skipped"}
    managers = list(Staff.objects.filter(institution__path__startswith=branch.path, post__code=CSM_POST,
                                         is_active=True).select_related("institution").order_by("staff_no"))
    if not managers or Certificate.objects.filter(staff__in=managers).exists():
        return {"status": "skipped"}
    _say(stdout, _("Workforce: certificates, skills, mentor → rotate → convert …"))
    # Teller numbers as the demo's queue machines log them (outlet code + T01 …), so the cross-post figures
    # read who served what from the demo tickets.
    used = set(Staff.objects.exclude(teller_no="").values_list("teller_no", flat=True))
    for person in managers:
        if not person.teller_no:
            k = 1
            while f"{person.institution.code}-T{k:02d}" in used:
                k += 1
            person.teller_no = f"{person.institution.code}-T{k:02d}"[:16]
            used.add(person.teller_no)
            org.save_staff(None, person, teller_no=person.teller_no)
    rng = random.Random(SEED)
    today = clock.today()
    licence = CertificateType.objects.get(code="csm_licence")
    review_cert = CertificateType.objects.get(code="smart_review")
    forex_cert = CertificateType.objects.get(code="forex")
    skill = {s.code: s for s in Skill.objects.all()}
    counts = {"certificates": 0, "skills": 0, "mentorships": 0}
    single = []
    for i, person in enumerate(managers):
        head = _head(person.institution)
        actor = head.user if head is not None and head.pk != person.pk else None
        if i % 17 == 5:  # uncertified: a deadline and coaching (名单制管理, 限时达标)
            services.set_certification_plan(actor, person, certificate_type=licence,
                                            deadline=today + timedelta(days=rng.randint(20, 75)),
                                            coach=head if head is not None and head.pk != person.pk else None,
                                            coaching=_("Weekly coaching on the certificate exam"))
        else:
            # Issued so that a few fall inside the 60-day window and one has lapsed.
            issued = today - timedelta(days=rng.randint(90, 1000))
            if i % 11 == 3:
                issued = today - timedelta(days=36 * 30 - rng.randint(5, 50))
            expires = services.add_months(issued, 36)
            if i % 23 == 9:
                expires = today - timedelta(days=rng.randint(3, 30))
            services.issue_certificate(actor, person, certificate_type=licence, issued_on=issued,
                                       expires_on=expires, number=f"KF{today.year}{i + 1:04d}")
            counts["certificates"] += 1
        services.issue_certificate(actor, person, certificate_type=review_cert,
                                   issued_on=today - timedelta(days=rng.randint(30, 600)))
        counts["certificates"] += 1
        granted = ["acceptance"] if i % 4 == 0 else ["acceptance", "smart_review", "maintenance"][: rng.choice([2, 3])]
        if i % 3 == 0:
            services.issue_certificate(actor, person, certificate_type=forex_cert,
                                       issued_on=today - timedelta(days=rng.randint(30, 600)))
            granted.append("forex")
        if i % 2 == 0:
            granted.append("cash")
        for code in granted:
            services.grant_skill(actor, person, skill=skill[code],
                                 granted_on=today - timedelta(days=rng.randint(0, 25)))
            counts["skills"] += 1
        if granted[:1] == ["acceptance"] and len([g for g in granted if skill[g].is_core]) == 1:
            single.append((person, head))
    for n, (person, head) in enumerate(single[:3]):
        mentor = next((m for m in managers if m.institution_id == person.institution_id and m.pk != person.pk), head)
        if mentor is None:
            continue
        actor = head.user if head is not None and head.pk != person.pk else None
        m = services.start_mentorship(actor, person, mentor=mentor, due_on=today + timedelta(days=60 - 20 * n),
                                      rotation_plan=_("Weeks 1-4 on smart review, weeks 5-8 on customer maintenance"))
        counts["mentorships"] += 1
        services.log_practice(actor, m, on=today, skill=skill["smart_review"], hours=4)
        if n >= 1:
            services.record_exam(actor, m, on=today, score=70 + 8 * n)
            services.record_assessment(actor, m, on=today, passed=True)
        if n == 2:
            services.convert(actor, m)
    return {"status": "created", **counts, "seconds": round(time.monotonic() - started, 1)}
