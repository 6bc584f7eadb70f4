#!/bin/sh
# Builds a busybox root filesystem from Debian's busybox-static (no network):
#   scripts/make-busybox-rootfs.sh <dir>            a directory
#   scripts/make-busybox-rootfs.sh <file.tar.gz>    a gzip tarball (for `berth import`)
set -eu
out=${1:?usage: make-busybox-rootfs.sh <dir | file.tar.gz>}
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox is not installed (apt-get install busybox-static)" >&2; exit 1; }
case "$out" in
  *.tar.gz|*.tgz) rootfs=$(mktemp -d /tmp/berth-rootfs.XXXXXX); trap 'rm -rf "$rootfs"' EXIT ;;
  *) rootfs=$out ;;
esac
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
if [ "$rootfs" != "$out" ]; then
  tar --numeric-owner -C "$rootfs" -czf "$out" .
fi
