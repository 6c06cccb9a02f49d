#!/usr/bin/env bash
# The image stage of CI: Podman in place of a Docker engine, a Python 3.11 Debian
# base built here (no base image can be pulled), every image built by
# 'python -m images' (the Docker SDK) against Podman's Docker-compatible socket, as
# it runs against Docker on a laptop; then the image tests, which smoke-test each.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
hack/ensure-system-packages.sh podman:podman runc:runc debootstrap:debootstrap

work=$root/build/podman
mkdir -p "$work"
# crun fails on rlimits and cgroups on these machines; runc with no default ulimits works.
cat > "$work/containers.conf" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$work/containers.conf

base=docker.io/library/python:3.11-slim
if ! podman image exists "$base"; then
  echo "building the base image $base from Debian packages (debootstrap)"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates bookworm "$work/rootfs" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  ln -sf /usr/bin/python3 "$work/rootfs/usr/local/bin/python"
  rm -f "$work"/rootfs/usr/lib/python3.*/EXTERNALLY-MANAGED
  tar -C "$work/rootfs" -c . | podman import - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

sock=$work/podman.sock
rm -f "$sock"
podman system service --time=0 "unix://$sock" &
service=$!
trap 'kill $service 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
export DOCKER_HOST=unix://$sock

start=$(date +%s)
make images TAG=test
echo "images built in $(( $(date +%s) - start ))s"

podman image prune -f >/dev/null  # the builder stages

ML_CANARY_IMAGE_TAG=test .venv/bin/python -m pytest -p no:cacheprovider -rA tests/images
