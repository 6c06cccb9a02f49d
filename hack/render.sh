#!/usr/bin/env bash
# Render k8s/overlays/OVERLAY plus components, with images from REGISTRY and TAG, the
# public host name HOST (default wine.example.com) on the Gateway and VirtualService,
# and the gateway's certificate Secret TLS_SECRET (default wine-tls):
#   REGISTRY=ghcr.io/acme TAG=0.1.0 HOST=wine.acme.com hack/render.sh mlserver components/v2
set -euo pipefail
overlay=$1; shift
host=${HOST:-wine.example.com}
# Istio's webhook takes a DNS name here, never "*" (docs/kubernetes.md).
[[ $host =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$ ]] \
  || { echo "HOST=$host is not a DNS name such as wine.example.com" >&2; exit 2; }
secret=${TLS_SECRET:-wine-tls}
[[ $secret =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] \
  || { echo "TLS_SECRET=$secret is not a Secret name such as wine-tls" >&2; exit 2; }
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
  echo "patches:"
  echo "  - target: {kind: Gateway, name: wine-gateway}"
  echo "    patch: '[{\"op\": \"replace\", \"path\": \"/spec/servers/0/hosts/0\", \"value\": \"$host\"},"
  echo "      {\"op\": \"replace\", \"path\": \"/spec/servers/1/hosts/0\", \"value\": \"$host\"},"
  echo "      {\"op\": \"replace\", \"path\": \"/spec/servers/0/tls/credentialName\", \"value\": \"$secret\"}]'"
  echo "  - target: {kind: VirtualService, name: wine}"
  echo "    patch: '[{\"op\": \"replace\", \"path\": \"/spec/hosts/0\", \"value\": \"$host\"}]'"
} > "$work/kustomization.yaml"
kubectl kustomize "$work"
