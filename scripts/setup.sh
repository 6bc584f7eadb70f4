#!/bin/sh
# Installs what berth needs on Debian 12 (as root) and builds it: apt packages, npm packages
# (native addons compile from source), berth-spawn, and the bundled CLIs in dist/.
set -eu
cd "$(dirname "$(readlink -f "$0")")/.."

PACKAGES="gcc make libc6-dev linux-libc-dev python3 g++ busybox-static runc crun iproute2 iptables \
  docker-registry skopeo umoci curl zstd apache2-utils attr openssl podman containernetworking-plugins uidmap bpftool time buildah \
  golang-go golang-github-docker-spdystream-dev golang-github-gorilla-websocket-dev golang-google-grpc-dev protobuf-compiler protoc-gen-go-1-3 \
  qemu-system-x86 linux-image-cloud-amd64 cpio procps containerd"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
