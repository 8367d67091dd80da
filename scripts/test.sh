#!/usr/bin/env bash
# The whole suite: ruff, pytest on SQLite, the non-browser suite on SQLite with the clock moved to
# another day, then pytest on PostgreSQL.
# Called by `make test` (after set-up) and so by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/branchops}

# The browser tests drive Debian's Chromium; install it once if this machine lacks it.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian chromium for the browser tests"
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "== chromium not found and cannot be installed: browser tests will be skipped"
  fi
fi

echo "== ruff"
$BIN/ruff check src tests bench scripts

echo "== import contracts (DESIGN.md layers; pyproject.toml [tool.importlinter])"
$BIN/lint-imports --no-cache

echo "== migrations are up to date"
DJANGO_SETTINGS_MODULE=branchops.settings_test $BIN/branchops makemigrations --check --dry-run

echo "== pytest on SQLite"
env -u DATABASE_URL $BIN/pytest -q -p no:cacheprovider -n 2 "$@"

# The suite must pass whatever today is. Browser tests keep the real clock (tests/conftest.py).
SHIFTED_DAY=${BRANCHOPS_SHIFTED_DAY:-2026-10-05}  # inside the National Day holiday week
echo "== pytest on SQLite, clock moved to $SHIFTED_DAY (without the browser tests)"
env -u DATABASE_URL BRANCHOPS_TEST_TODAY="$SHIFTED_DAY" $BIN/pytest -q -p no:cacheprovider -n 2 -m "not slow and not e2e and not spark" "$@"

echo "== pytest on PostgreSQL ($PG_URL)"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "   PostgreSQL not answering; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
# The browser journeys ran on SQLite above; on PostgreSQL everything else runs.
DATABASE_URL=$PG_URL $BIN/pytest -q -p no:cacheprovider -n 2 -m "not slow and not e2e and not spark" "$@"

# The same KPI SQL on a real local Spark session (issue 16): its own step, its own requirements, so the
# web application never depends on pyspark. Java 17 from Debian when the machine has none.
echo "== the KPI SQL on Spark (tests marked spark)"
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "   installing Debian openjdk-17-jre-headless"
    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "   java not found and cannot be installed" >&2
    exit 1
  fi
fi
$BIN/pip install --quiet -r requirements-spark.txt -c constraints.txt
env -u DATABASE_URL $BIN/pytest -q -p no:cacheprovider -n 0 -m spark tests/queueing/test_spark.py
