#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (Playwright drives it;
# `playwright install` is never used). Installs it with apt-get when running as root;
# otherwise says how, and the browser tests skip (or fail when REQUIRE_BROWSER=1).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests (apt-get)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
else
  echo "note: /usr/bin/chromium is missing; run 'sudo apt-get install chromium' to run the" \
       "browser tests (they are skipped without it)" >&2
fi
