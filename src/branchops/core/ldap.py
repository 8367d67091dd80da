"""Optional LDAP/Active Directory sign-in, built from environment variables.

Pure: returns the django-auth-ldap settings to merge, or {} when LDAP_SERVER_URI is unset.
Needs the `ldap` extra (`pip install -e .[ldap]`). Users are matched to BranchOps staff by
username; LDAP only checks the password, BranchOps keeps roles and institution.
"""

from collections.abc import Mapping


def ldap_settings(env: Mapping[str, str]) -> dict:
    uri = env.get("LDAP_SERVER_URI", "").strip()
    if not uri:
        return {}
    import ldap
    from django_auth_ldap.config import LDAPSearch

    user_base = env.get("LDAP_USER_BASE_DN", "")
    user_filter = env.get("LDAP_USER_FILTER", "(sAMAccountName=%(user)s)")
    settings = {
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": env.get("LDAP_BIND_DN", ""),
        "AUTH_LDAP_BIND_PASSWORD": env.get("LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(user_base, ldap.SCOPE_SUBTREE, user_filter),
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_START_TLS": env.get("LDAP_START_TLS", "0").lower() in {"1", "true", "yes"},
        # Only people already known to BranchOps (imported from the HR list) may sign in.
        "AUTH_LDAP_NO_NEW_USERS": True,
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
    }
    return settings
