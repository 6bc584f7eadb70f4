#!/bin/sh
# berth's main job, offline: build a busybox image locally (from Debian's busybox-static), then
# run a container from it with `berth run`; also run the same rootfs as a bare OCI bundle with
# berth-runtime, as runc would.
set -eu
cd "$(dirname "$(readlink -f "$0")")/.."
unset NODE_EXTRA_CA_CERTS
dir=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT

echo "== berth: build busybox:local from busybox-static and run it"
scripts/make-busybox-rootfs.sh "$dir/busybox.tar.gz"
bin/berth --root "$dir/store" import --change 'CMD ["sh"]' "$dir/busybox.tar.gz" busybox:local
bin/berth --root "$dir/store" images
status=0
bin/berth --root "$dir/store" run --rm busybox:local sh -c 'echo "hello from $(hostname) as $(id -un), pid $$"; ls /' || status=$?
echo "container exited with status $status"

echo "== berth-runtime: the same rootfs as an OCI bundle"
scripts/make-busybox-bundle.sh "$dir/bundle" sh -c 'echo "hello from $(hostname) in a bundle"' >/dev/null
(cd "$dir/bundle" && "$OLDPWD/bin/berth-runtime" --root "$dir/state" run "demo-$$")
exit $status
