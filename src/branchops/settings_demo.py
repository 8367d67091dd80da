"""`make demo`: the product as it runs in production — DEBUG off, WhiteNoise's manifest storage,
the product's own 403/404/500 pages — but on plain HTTP at localhost with the demo secret key.

Only what HTTPS needs is relaxed (no redirect, no Secure cookie flag, no HSTS): a browser on
http://127.0.0.1 would otherwise drop the session cookie or be sent to an https:// that nobody serves.
Never use this profile on a server other people reach.
"""

import os

os.environ["DEBUG"] = "0"
os.environ.setdefault("BRANCHOPS_ALLOW_DEV_KEY", "1")
for _name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
              "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"):
    os.environ.setdefault(_name, "0")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")

from branchops.settings import *  # noqa: E402,F403
