#!/bin/sh
# berth's main job at this stage: build a busybox bundle from Debian's busybox-static (no network)
# and run a container from it with berth-runtime.
set -eu
cd "$(dirname "$(readlink -f "$0")")/.."
dir=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT
scripts/make-busybox-bundle.sh "$dir/bundle" sh -c 'echo "hello from $(hostname): $(id)"; echo "pid $$ in its own pid namespace"; ls /'
cd "$dir/bundle"
exec_status=0
"$OLDPWD/bin/berth-runtime" --root "$dir/state" run "demo-$$" || exec_status=$?
echo "container exited with status $exec_status"
exit $exec_status
