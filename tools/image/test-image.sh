#!/usr/bin/env bash
# make test-image: build the register's image (Containerfile) and run tools/image/test_image.py against it.
#
# No container registry is reachable from CI, so the base image is made here: Debian bookworm (debootstrap
# --variant=minbase) plus its python3, cached as podman images (localhost/verwerkingenlog-bookworm-*), so a second
# run only rebuilds the register's layers. Users build FROM python:3.12-slim (the Containerfile's default).
#
# This machine's specifics are flags of this script, never files in the image: the CA bundle pip trusts (PIP_CERT,
# pip's `global.cert`, or SSL_CERT_FILE) is a build secret, an index URL a build argument, and the container runtime
# flags (runc, cgroupfs, ulimits below the hard limits) are in PODMAN_RUN_FLAGS, which the test reads as well.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${IMAGE:-localhost/verwerkingenlog:test}
BASE=localhost/verwerkingenlog-bookworm-base
PYBASE=localhost/verwerkingenlog-bookworm-python
CACHE=${VWL_IMAGE_CACHE:-/var/tmp/verwerkingenlog-image}
export PODMAN_RUN_FLAGS=${PODMAN_RUN_FLAGS:---runtime runc --cgroup-manager cgroupfs --ulimit nofile=20000:20000 --ulimit nproc=32768:32768}
read -r -a RUNFLAGS <<<"$PODMAN_RUN_FLAGS"
started=$(date +%s)

if ! podman image exists "$PYBASE"; then
  if ! podman image exists "$BASE"; then
    mkdir -p "$CACHE"
    if [ ! -x "$CACHE/rootfs/bin/sh" ]; then
      rm -rf "$CACHE/rootfs"
      debootstrap --variant=minbase bookworm "$CACHE/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    fi
    tar -C "$CACHE/rootfs" -c . | podman import - "$BASE"
  fi
  podman build --network host "${RUNFLAGS[@]}" -f tools/image/base.Containerfile -t "$PYBASE" tools/image
fi

cert=${PIP_CERT:-$(.venv/bin/pip config get global.cert 2>/dev/null || true)}
cert=${cert:-${SSL_CERT_FILE:-}}
build=(--network host "${RUNFLAGS[@]}" --build-arg "BASE_IMAGE=$PYBASE" -t "$IMAGE" -f Containerfile)
[ -n "$cert" ] && [ -s "$cert" ] && build+=(--secret "id=pip_cert,src=$cert")
[ -n "${PIP_INDEX_URL:-}" ] && build+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
[ -n "${PIP_DEFAULT_TIMEOUT:-}" ] && build+=(--build-arg "PIP_DEFAULT_TIMEOUT=$PIP_DEFAULT_TIMEOUT")
podman build "${build[@]}" .
built=$(date +%s)
echo "image $IMAGE built in $((built - started)) s; size: $(podman image inspect "$IMAGE" --format '{{.Size}}') bytes"

IMAGE=$IMAGE .venv/bin/python -m pytest tools/image/test_image.py -q -p no:cacheprovider "$@"
echo "test-image: $(( $(date +%s) - started )) s in all ($((built - started)) s building)"
