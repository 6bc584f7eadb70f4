#!/bin/sh
# Runs every test: unit (pure), integration (real kernel, needs root) and interop (real peers).
#   scripts/test.sh [unit|integration|interop]...
set -eu
cd "$(dirname "$(readlink -f "$0")")/.."
npm run --silent build >/dev/null
suites=${*:-unit integration interop}
status=0
for suite in $suites; do
  files=$(find "test/$suite" -name '*.test.ts' 2>/dev/null | sort)
  [ -n "$files" ] || continue
  echo "== $suite tests"
  # shellcheck disable=SC2086
  node --import tsx --test --test-reporter=spec --test-concurrency=1 $files || status=1
done
exit $status
