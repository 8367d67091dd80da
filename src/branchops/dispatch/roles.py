from branchops.org.roles import Role, grant

for _role in Role:
    grant(_role, "dispatch.view_workorder")
grant(Role.OUTLET_HEAD, "dispatch.change_workorder")
grant(Role.SECRETARIAT, "dispatch.view_outletcapacity", "dispatch.change_outletcapacity",
      "dispatch.add_outletcapacity", "dispatch.view_blackout", "dispatch.add_blackout", "dispatch.change_blackout")
grant(Role.ADMINISTRATOR, "dispatch.view_outletcapacity", "dispatch.change_outletcapacity",
      "dispatch.add_outletcapacity", "dispatch.view_blackout", "dispatch.add_blackout", "dispatch.change_blackout")
# The secretariat stops work it released (a revoked approval, a plan changed).
grant(Role.SECRETARIAT, "dispatch.cancel_workorder")
grant(Role.ADMINISTRATOR, "dispatch.cancel_workorder")
