#!/usr/bin/env bash
# Render k8s/overlays/OVERLAY plus components, with images from REGISTRY and TAG, the
# model's name MODEL (default wine) in every name, label, route and query, the public
# host name HOST (default MODEL.example.com) on the Gateway and VirtualService, and
# the gateway's certificate Secret TLS_SECRET (default MODEL-tls):
#   REGISTRY=ghcr.io/acme TAG=0.1.0 MODEL=fraud HOST=fraud.acme.com hack/render.sh mlserver components/v2
set -euo pipefail
overlay=$1; shift
model=${MODEL:-wine}
# A DNS label short enough for the longest name made from it (MODEL-public-canary-header-deny).
[[ $model =~ ^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$ ]] \
  || { echo "MODEL=$model is not a model name such as fraud-detector (python -m models.package --name)" >&2; exit 2; }
host=${HOST:-$model.example.com}
# Istio's webhook takes a DNS name here, never "*" (docs/kubernetes.md).
[[ $host =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$ ]] \
  || { echo "HOST=$host is not a DNS name such as wine.example.com" >&2; exit 2; }
secret=${TLS_SECRET:-$model-tls}
[[ $secret =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] \
  || { echo "TLS_SECRET=$secret is not a Secret name such as wine-tls" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "$root/build/render.XXXXXX" 2>/dev/null || { mkdir -p "$root/build"; mktemp -d "$root/build/render.XXXXXX"; })
trap 'rm -rf "$work"' EXIT
# k8s/ says wine wherever the model's name goes, and nowhere else: a copy with that word replaced
# whole (wine-rest, app: wine, destination_service_name="wine", /v2/models/wine/infer) is rendered.
cp -R "$root/k8s" "$work/k8s"
find "$work/k8s" -type f -exec env MODEL="$model" perl -pi -e 's/(?<![A-Za-z0-9_])wine(?![A-Za-z0-9_])/$ENV{MODEL}/g' {} +
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources: [k8s/overlays/$overlay]"
  [ $# -gt 0 ] && echo "components: [$(printf 'k8s/%s,' "$@" | sed 's/,$//')]"
  echo "images:"
  for image in ml-canary-mlserver ml-canary-seldon ml-canary-loadgen ml-canary-judge; do
    echo "  - {name: $image, newName: ${REGISTRY:+$REGISTRY/}$image, newTag: \"${TAG:-0.1.0}\"}"
  done
  echo "patches:"
  echo "  - target: {kind: Gateway, name: $model-gateway}"
  echo "    patch: '[{\"op\": \"replace\", \"path\": \"/spec/servers/0/hosts/0\", \"value\": \"$host\"},"
  echo "      {\"op\": \"replace\", \"path\": \"/spec/servers/1/hosts/0\", \"value\": \"$host\"},"
  echo "      {\"op\": \"replace\", \"path\": \"/spec/servers/0/tls/credentialName\", \"value\": \"$secret\"}]'"
  echo "  - target: {kind: VirtualService, name: $model}"
  echo "    patch: '[{\"op\": \"replace\", \"path\": \"/spec/hosts/0\", \"value\": \"$host\"}]'"
} > "$work/kustomization.yaml"
kubectl kustomize "$work"
