#!/usr/bin/env bash
# `npm test`: every test. Installs the Debian packages the tests use when they are missing
# (as root with apt), builds, then runs the suite. PostgreSQL tests run when BULWARK_TEST_PG
# holds a connection string (.ci/run sets it); otherwise they are skipped, and say so.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# CPython's email test messages: real-world messy mail for the MIME parser tests.
[ -d /usr/lib/python3.11/test/test_email/data ] || need+=(libpython3.11-testsuite)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages for the tests: ${need[*]}"
    (apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1; }) ||
      echo "warning: could not install ${need[*]}; the tests that need them will say they are skipped"
  else
    echo "note: not root or no apt-get; tests needing ${need[*]} will say they are skipped"
  fi
fi

[ -f node_modules/.package-lock.json ] || npm ci
npm run build --silent
exec npx vitest run "$@"
