#!/usr/bin/env bash
# Install (when missing) what the browser tests drive: Debian's Chromium and the pinned npm
# packages of tests/browser (playwright-core, from its package-lock.json). Safe to run again:
# every step checks first and says what it did. Playwright's own browser download is never
# used (`npx playwright install` needs a network this machine does not have).
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NPM_DIR=tests/browser

say() { printf 'browser: %s\n' "$*"; }
die() {
  printf 'browser: error: %s\n' "$*" >&2
  exit 1
}

chromium() {
  if [ -x "$CHROMIUM" ]; then
    say "Chromium present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "installing Chromium needs root (apt-get install chromium), or install it and rerun"
  command -v apt-get >/dev/null || die "no apt-get on this machine: install Debian's 'chromium' by hand"
  say "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  say "apt-get install chromium (about a minute the first time)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

npm_packages() {
  command -v node >/dev/null || die "no node on this machine: install Node.js 20 (Debian's nodejs or NodeSource)"
  local lock="$NPM_DIR/package-lock.json" stamp="$NPM_DIR/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$lock" ]; then
    say "npm packages present in $NPM_DIR/node_modules"
    return
  fi
  say "npm ci in $NPM_DIR (playwright-core, pinned by its lock file; a few seconds)"
  (cd "$NPM_DIR" && npm ci --no-audit --no-fund --silent)
}

chromium
npm_packages
