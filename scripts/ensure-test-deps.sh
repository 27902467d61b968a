#!/usr/bin/env bash
# What the tests need from Debian, beyond the Python packages: Chromium (the browser tests,
# driven by Playwright; `playwright install` is never used), DejaVu fonts, PostgreSQL and
# nginx (started by the tests as their own processes on loopback ports) and wrk (the load of
# the scale-out test, through that nginx). Installed with
# apt-get when running as root; otherwise this says how, and those tests skip (or fail
# under REQUIRE_BROWSER=1 / REQUIRE_SERVERS=1, as CI sets).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing for the tests (apt-get): ${missing[*]}..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  # The packages start their own services; the tests start their own instances instead.
  service postgresql stop >/dev/null 2>&1 || true
  service nginx stop >/dev/null 2>&1 || true
else
  echo "note: missing ${missing[*]}; run 'sudo apt-get install ${missing[*]}' to run the" \
       "tests that need them (they are skipped without)" >&2
fi
