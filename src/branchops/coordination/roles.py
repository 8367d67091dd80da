from branchops.org.roles import Role, grant

for _role in Role:
    grant(_role, "coordination.view_item", "coordination.view_meeting")
grant(Role.SUBMITTER, "coordination.submit_item")
grant(Role.REVIEWER, "coordination.review_item")
grant(Role.SECRETARIAT, "coordination.run_meeting", "coordination.release_item", "coordination.export_register",
      "coordination.submit_item")
grant(Role.BRANCH_LEADER, "coordination.export_register")
grant(Role.ADMINISTRATOR, "coordination.run_meeting", "coordination.release_item", "coordination.export_register",
      "coordination.change_settings", "coordination.view_settings", "coordination.add_reviewdimension",
      "coordination.change_reviewdimension", "coordination.view_reviewdimension",
      "coordination.change_reviewremit", "coordination.add_reviewremit", "coordination.view_reviewremit",
      "coordination.change_reviewrequirement", "coordination.view_reviewrequirement")
# The secretariat keeps the gate's configuration: which dimensions each item type needs reviewed.
grant(Role.SECRETARIAT, "coordination.change_reviewrequirement", "coordination.view_reviewrequirement")
