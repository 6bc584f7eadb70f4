#!/bin/sh
# Builds an OCI bundle (rootfs + config.json) from Debian's busybox-static, with no network.
#   scripts/make-busybox-bundle.sh <bundle-dir> [command...]
set -eu
bundle=${1:?usage: make-busybox-bundle.sh <bundle-dir> [command...]}
shift
here=$(dirname "$(readlink -f "$0")")
"$here/make-busybox-rootfs.sh" "$bundle/rootfs"
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
