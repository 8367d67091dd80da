"""Who may do what with the workforce: managers (outlet head, secretariat) see and manage their people;
the branch leader and administrators read; everyone sees their own record; the lists (certificate
types, skills, post models, the expiring window) are kept by the secretariat and administrators."""

from branchops.org.roles import Role, grant

for _role in Role:
    grant(_role, "workforce.view_own", "workforce.view_certificatetype", "workforce.view_skill",
          "workforce.view_postmodel")
PEOPLE = ["workforce.view_people"]
grant(Role.OUTLET_HEAD, *PEOPLE, "workforce.manage_people")
grant(Role.SECRETARIAT, *PEOPLE, "workforce.manage_people")
grant(Role.BRANCH_LEADER, *PEOPLE)
grant(Role.ADMINISTRATOR, *PEOPLE)
LISTS = ["workforce.add_certificatetype", "workforce.change_certificatetype", "workforce.add_skill",
         "workforce.change_skill", "workforce.add_postmodel", "workforce.change_postmodel",
         "workforce.change_workforcesettings"]
grant(Role.SECRETARIAT, *LISTS)
grant(Role.ADMINISTRATOR, *LISTS)
