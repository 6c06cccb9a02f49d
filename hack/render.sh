#!/usr/bin/env bash
# Render k8s/overlays/OVERLAY plus components, with images from REGISTRY and TAG:
#   REGISTRY=ghcr.io/acme TAG=0.1.0 hack/render.sh mlserver components/v2
set -euo pipefail
overlay=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "$root/build/render.XXXXXX" 2>/dev/null || { mkdir -p "$root/build"; mktemp -d "$root/build/render.XXXXXX"; })
trap 'rm -rf "$work"' EXIT
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources: [../../k8s/overlays/$overlay]"
  [ $# -gt 0 ] && echo "components: [$(printf '../../k8s/%s,' "$@" | sed 's/,$//')]"
  echo "images:"
  for image in ml-canary-mlserver ml-canary-seldon ml-canary-loadgen ml-canary-judge; do
    echo "  - {name: $image, newName: ${REGISTRY:+$REGISTRY/}$image, newTag: \"${TAG:-0.1.0}\"}"
  done
} > "$work/kustomization.yaml"
kubectl kustomize "$work"
