#!/bin/sh
# Builds an OCI bundle (rootfs + config.json) from Debian's busybox-static, with no network.
#   scripts/make-busybox-bundle.sh <bundle-dir> [command...]
set -eu
bundle=${1:?usage: make-busybox-bundle.sh <bundle-dir> [command...]}
shift
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox is not installed (apt-get install busybox-static)" >&2; exit 1; }
if ! file_out=$(od -An -c -N 4 "$busybox" 2>/dev/null) || ! ldd "$busybox" 2>&1 | grep -q 'not a dynamic'; then
  echo "warning: $busybox is not static; install busybox-static" >&2
fi
here=$(dirname "$(readlink -f "$0")")
rootfs="$bundle/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
rm -f "$bundle/config.json"
"$here/../bin/berth-runtime" spec --bundle "$bundle"
if [ $# -gt 0 ]; then
  node -e '
    const fs = require("fs"); const file = process.argv[1];
    const spec = JSON.parse(fs.readFileSync(file, "utf8"));
    spec.process.terminal = false; spec.process.args = process.argv.slice(2);
    fs.writeFileSync(file, JSON.stringify(spec, null, "\t") + "\n");
  ' "$bundle/config.json" "$@"
fi
