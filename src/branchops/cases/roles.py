"""What each role may do with cases."""

from branchops.org.roles import Role, grant

EVERYONE = ["cases.view_case", "cases.add_case"]
for _role in Role:
    grant(_role, *EVERYONE)
grant(Role.OUTLET_HEAD, "cases.manage_case", "cases.view_pii", "cases.export_case")
grant(Role.SECRETARIAT, "cases.manage_case", "cases.view_pii", "cases.triage_feedback", "cases.approve_extension",
      "cases.export_case")
grant(Role.SERVICE_SUPERVISOR, "cases.manage_case", "cases.verify_rectification", "cases.export_case")
grant(Role.SUBMITTER, "cases.manage_case")
grant(Role.REVIEWER, "cases.manage_case")
grant(Role.BRANCH_LEADER, "cases.approve_extension", "cases.export_case")
grant(Role.ADMINISTRATOR, "cases.manage_case", "cases.view_pii", "cases.triage_feedback", "cases.approve_extension",
      "cases.verify_rectification", "cases.export_case", "cases.change_slapolicy", "cases.view_slapolicy",
      "cases.add_slapolicy", "cases.change_category", "cases.add_category", "cases.view_category")

# Roles that see cases by institution scope; the others (department staff who submit or review)
# see the cases assigned to their department and those they are personally part of.
INSTITUTION_SCOPE_ROLES = {Role.SECRETARIAT, Role.BRANCH_LEADER, Role.SERVICE_SUPERVISOR, Role.ADMINISTRATOR,
                           Role.OUTLET_HEAD, Role.OUTLET_STAFF}
