"""Small helpers of the pages' HTTP handling."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request) -> str | None:
    """The form's ``next`` address when it stays on this site, else None (never an open redirect)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return None


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address, for the sign-in lock-out (axes) and the API rate limit.

    ``REMOTE_ADDR``, unless the request comes from a trusted reverse proxy
    (``BRANCHOPS_TRUSTED_PROXIES``): then the right-most address in the proxy's header
    (``BRANCHOPS_CLIENT_IP_HEADER``) that is not itself a trusted proxy. Entries further left were
    written by the client and are never believed, so nobody can pose as another address."""
    remote = request.META.get("REMOTE_ADDR")
    networks = _networks(tuple(settings.BRANCHOPS_TRUSTED_PROXIES))
    remote_ip = _address(remote or "")
    if not networks or remote_ip is None or not any(remote_ip in n for n in networks):
        return remote
    hops = [h for h in request.META.get(settings.BRANCHOPS_CLIENT_IP_HEADER, "").split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:
            return remote  # a garbled header: the proxy's own address, never the client's text
        if not any(ip in n for n in networks):
            return str(ip)
    return remote
