#!/bin/sh
# Runs every test: unit (pure), integration (real kernel, needs root) and interop (real peers).
#   scripts/test.sh [unit|integration|interop]...
set -eu
cd "$(dirname "$(readlink -f "$0")")/.."
npm run --silent build >/dev/null
suites=${*:-unit integration interop}
status=0
# berth's config dir (its networks) is the tests' own, not the user's; the CNI bridge plugin turns
# on IPv4 forwarding, which is put back as it was.
XDG_CONFIG_HOME=$(mktemp -d /tmp/berth-test-config.XXXXXX)
export XDG_CONFIG_HOME
ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)
trap 'echo "$ip_forward" > /proc/sys/net/ipv4/ip_forward; rm -rf "$XDG_CONFIG_HOME"' EXIT
for suite in $suites; do
  files=$(find "test/$suite" -name '*.test.ts' 2>/dev/null | sort)
  [ -n "$files" ] || continue
  echo "== $suite tests"
  # shellcheck disable=SC2086
  node --import tsx --test --test-reporter=spec --test-concurrency=1 $files || status=1
done
exit $status
