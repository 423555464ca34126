#!/usr/bin/env bash
# Installs headless Chromium (Debian's `chromium` package) for the e2e browser test in
# tests/e2e/. Playwright/Puppeteer browser downloads are not reachable from CI, so we use the
# distribution build at /usr/bin/chromium. Idempotent: does nothing when it is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
