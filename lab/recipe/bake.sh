#!/bin/sh
# Runs once inside the freshly built VM (over SSH) before its disk becomes the cached base image.
set -eu
tarball=/var/lib/lvs-dr-lab/node.tar
docker import --change 'CMD ["/lib/systemd/systemd"]' "$tarball" lvs-dr/node:bookworm
rm -f "$tarball"
docker image inspect --format '{{.Id}} {{.Size}}' lvs-dr/node:bookworm
journalctl --rotate >/dev/null 2>&1 || true
journalctl --vacuum-time=1s >/dev/null 2>&1 || true
sync
