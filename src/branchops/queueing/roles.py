from branchops.org.roles import Role, grant

# Everyone with a place in the bank reads the queue figures of their own scope.
for _role in Role:
    grant(_role, "queueing.view_ticketimport")
grant(Role.SECRETARIAT, "queueing.import_tickets", "queueing.add_ticketimport", "queueing.view_queuesettings",
      "queueing.change_queuesettings")
grant(Role.ADMINISTRATOR, "queueing.import_tickets", "queueing.add_ticketimport", "queueing.view_queuesettings",
      "queueing.change_queuesettings")
