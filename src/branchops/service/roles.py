"""Who may do what with service grading: everyone reads (scope decides what), the secretariat runs."""

from branchops.org.roles import Role, grant

for _role in Role:
    grant(_role, "service.view_gradingrun", "service.view_gradingscheme")
RUN = ["service.add_gradingrun", "service.change_gradingrun", "service.change_runinput"]
SCHEMES = ["service.add_gradingscheme", "service.change_gradingscheme", "service.change_indicator",
           "service.view_indicator", "service.view_dimension", "service.view_gradeband", "service.view_vetorule",
           "service.change_gradeband", "service.change_vetorule"]
grant(Role.SECRETARIAT, *RUN, *SCHEMES)
grant(Role.ADMINISTRATOR, *SCHEMES)

# Inspections: the secretariat schedules them and keeps the checklists; supervisors fill theirs.
for _role in Role:
    grant(_role, "service.view_inspection")
grant(Role.SECRETARIAT, "service.add_inspection", "service.change_checklisttemplate")
grant(Role.ADMINISTRATOR, "service.change_checklisttemplate")
grant(Role.SERVICE_SUPERVISOR, "service.change_inspection")

# Imported inputs: the secretariat and administrators import (supervisors do not: the files come from the
# evaluators', the survey firm's and the call centre's systems, not from inspections); everyone reads the
# ratings of their own scope. Targets: the secretariat sets them, everyone reads their branch's.
for _role in Role:
    grant(_role, "service.view_tellerrating", "service.view_servicetarget")
grant(Role.SECRETARIAT, "service.add_inputimport", "service.view_inputimport", "service.add_servicetarget",
      "service.change_servicetarget", "service.delete_servicetarget")
grant(Role.ADMINISTRATOR, "service.add_inputimport", "service.view_inputimport")
grant(Role.BRANCH_LEADER, "service.view_inputimport")

# Public phones: everyone reads the directory and corrections of their scope; the secretariat keeps the
# directory and runs the campaigns; outlet heads keep their outlet's numbers and fix its corrections;
# service supervisors and the secretariat make the calls.
for _role in Role:
    grant(_role, "service.view_phoneentry", "service.view_phonecampaign", "service.view_phonecorrection")
grant(Role.SECRETARIAT, "service.change_phoneentry", "service.add_phonecampaign", "service.change_phonecall",
      "service.change_phonecorrection")
grant(Role.OUTLET_HEAD, "service.change_phoneentry", "service.change_phonecorrection")
grant(Role.SERVICE_SUPERVISOR, "service.change_phonecall")

# Outlet routines: the secretariat plans them; the outlet's head and staff do their own checks.
for _role in Role:
    grant(_role, "service.view_routineplan", "service.view_routinecheck")
grant(Role.SECRETARIAT, "service.add_routineplan")
grant(Role.OUTLET_HEAD, "service.change_routinecheck")
grant(Role.OUTLET_STAFF, "service.change_routinecheck")
# The quarterly briefing: the secretariat drafts and issues it; a branch leader — or the department head,
# given "approve service briefings" on their account — approves it; the secretariat, branch leaders and
# service supervisors of the branch read it. Outlets do not: its ranking and tables name every outlet.
grant(Role.SECRETARIAT, "service.view_briefing", "service.add_briefing", "service.change_briefing")
grant(Role.BRANCH_LEADER, "service.view_briefing", "service.approve_briefing")
grant(Role.SERVICE_SUPERVISOR, "service.view_briefing")
