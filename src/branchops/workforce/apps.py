from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkforceConfig(AppConfig):
    name = "branchops.workforce"
    label = "workforce"
    verbose_name = _("Workforce")

    def ready(self):
        from branchops.core import nav
        from branchops.core.audit import register_verbs

        from . import roles  # noqa: F401
        from .queries import conversion_section

        register_verbs({"certificate_issued": _("Certificate issued"), "certificate_revoked": _("Certificate revoked"),
                        "skill_granted": _("Skill granted"), "skill_withdrawn": _("Skill withdrawn"),
                        "certification_plan_set": _("Certification deadline set"),
                        "mentorship_started": _("Mentor assigned"), "practice_logged": _("Practice logged"),
                        "exam_recorded": _("Exam recorded"), "assessment_recorded": _("Assessment recorded"),
                        "converted": _("Converted to all-round"), "mentorship_cancelled": _("Mentorship cancelled")})
        nav.register(nav.NavItem("workforce", _("Workforce"), "workforce:people", "people",
                                 ("workforce.view_people",), 180))
        nav.register_work_section("workforce-convert", conversion_section, 260)
