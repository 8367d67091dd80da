"""Settings for the test suite: the production settings with fast hashing and plain HTTP."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("BRANCHOPS_TESTING", "1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("BRANCHOPS_DATA_DIR", tempfile.mkdtemp(prefix="branchops-test-"))

from branchops.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_HSTS_SECONDS = 0
# Tests that are about the rate limits set small ones themselves; the rest never meet them.
BRANCHOPS_API_RATE = "100000/min"
BRANCHOPS_API_BAD_TOKEN_RATE = "100000/min"
LANGUAGE_CODE = "zh-hans"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
