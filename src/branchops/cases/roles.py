"""What each role may do with cases."""

from branchops.org.roles import Role, grant

from .models import CaseType

# Who opens which case type (issue 13): outlets their complaints, feedback and support requests; service
# supervisors the rectifications they find; a business department (the consumer-protection department
# among them) the complaints that reach it by letter, phone, regulator or media; the secretariat and
# the administrator any. Reviewers only review, and the branch leader only reads.
OPENS = {
    Role.OUTLET_STAFF: {CaseType.COMPLAINT, CaseType.FEEDBACK, CaseType.SUPPORT},
    Role.OUTLET_HEAD: {CaseType.COMPLAINT, CaseType.FEEDBACK, CaseType.SUPPORT},
    Role.SERVICE_SUPERVISOR: {CaseType.RECTIFICATION},
    Role.SUBMITTER: {CaseType.COMPLAINT},
    Role.SECRETARIAT: set(CaseType.values),
    Role.ADMINISTRATOR: set(CaseType.values),
}
# Roles that read cases and write nothing in them (no opening, comment, file, assignment or decision).
READ_ONLY_ROLES = {Role.BRANCH_LEADER}

for _role in Role:
    grant(_role, "cases.view_case")
for _role in OPENS:
    grant(_role, "cases.add_case")
grant(Role.OUTLET_HEAD, "cases.manage_case", "cases.view_pii", "cases.export_case")
grant(Role.SECRETARIAT, "cases.manage_case", "cases.view_pii", "cases.triage_feedback", "cases.approve_extension",
      "cases.export_case")
grant(Role.SERVICE_SUPERVISOR, "cases.manage_case", "cases.verify_rectification", "cases.export_case")
grant(Role.SUBMITTER, "cases.manage_case")
grant(Role.REVIEWER, "cases.manage_case")
grant(Role.BRANCH_LEADER, "cases.export_case")
grant(Role.ADMINISTRATOR, "cases.manage_case", "cases.view_pii", "cases.triage_feedback", "cases.approve_extension",
      "cases.verify_rectification", "cases.export_case", "cases.change_slapolicy", "cases.view_slapolicy",
      "cases.add_slapolicy", "cases.change_category", "cases.add_category", "cases.view_category")

# Roles that see cases by institution scope; the others (department staff who submit or review)
# see the cases assigned to their department and those they are personally part of.
INSTITUTION_SCOPE_ROLES = {Role.SECRETARIAT, Role.BRANCH_LEADER, Role.SERVICE_SUPERVISOR, Role.ADMINISTRATOR,
                           Role.OUTLET_HEAD, Role.OUTLET_STAFF}
