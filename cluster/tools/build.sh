#!/usr/bin/env bash
# Build the upstream binaries of the local control plane from their pinned wrapper modules
# (cluster/tools/*/go.mod) into a cache outside the repository, keyed by each module's go.mod
# and go.sum: a warm cache builds nothing. One line per binary with its time; every binary is
# then linked into $CLUSTER_TOOLS_CACHE/bin, the folder the cluster scripts use.
# Arguments name modules to build alone ("build.sh jaeger": the local stack's tracing); none: all,
# with the CRDs and KWOK's stages.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${CLUSTER_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME:?set HOME or CLUSTER_TOOLS_CACHE}/.cache}/ml-canary/cluster-tools}"
command -v go >/dev/null || { echo "cluster-tools: go is not installed (Go >= 1.26 is needed: https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$cache/bin"

# The control plane reports its release: without these, kube-apiserver says v0.0.0-master. Worked out only
# for the modules being built (each resolves its module graph).
version_of() { (cd "$here/$1" && go list -m -f '{{.Version}}' "$2"); }
ldflags_of() {
  case "$1" in
    kubernetes)
      local v; v="$(version_of kubernetes k8s.io/kubernetes)"
      echo "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean" ;;
    argo) echo "-s -w -X github.com/argoproj/argo-rollouts/utils/version.version=$(version_of argo github.com/argoproj/argo-rollouts | sed 's/^v//')" ;;
    *) echo "-s -w" ;;
  esac
}

for module in ${*:-kubernetes etcd kwok argo jaeger}; do
  [ -f "$here/$module/go.mod" ] || { echo "cluster-tools: no module $module under $here" >&2; exit 2; }
  ldflags="$(ldflags_of "$module")"
  key="$( (cat "$here/$module/go.mod" "$here/$module/go.sum"; echo "$ldflags"; go version) | sha256sum | cut -c1-16)"
  out="$cache/$module-$key"
  mkdir -p "$out"
  # go mod tidy writes one tool as "tool x", several as a "tool ( ... )" block.
  for pkg in $(awk '/^tool \(/{f=1;next} f&&/^\)/{f=0} f{print $1} /^tool [^(]/{print $2}' "$here/$module/go.mod"); do
    name="${pkg##*/}"; [ "$name" = v3 ] && name=etcd
    if [ -x "$out/$name" ]; then
      echo "$name: cached ($module-$key)"
    else
      start=$(date +%s)
      (cd "$here/$module" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$name.tmp" "$pkg")
      mv "$out/$name.tmp" "$out/$name"
      echo "$name: built in $(( $(date +%s) - start )) s"
    fi
    ln -sfn "$out/$name" "$cache/bin/$name"
    built=yes
  done
  [ -n "${built:-}" ] || { echo "cluster-tools: no tool line in $here/$module/go.mod" >&2; exit 1; }
  unset built
done
[ $# -eq 0 ] || { echo "cluster-tools: $cache/bin"; exit 0; }
argo_version="$(version_of argo github.com/argoproj/argo-rollouts)"
# The CRDs the control plane serves, from the same upstream releases as the offline checks' (../shared/crds).
istio_api=v1.29.6
prometheus_operator=v0.93.0
module_dir() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
crds="$cache/crds-${argo_version}-istio-${istio_api}-prometheus-operator-${prometheus_operator}"
if [ ! -d "$crds" ]; then
  argo_dir="$(module_dir "github.com/argoproj/argo-rollouts@$argo_version")"
  istio_dir="$(module_dir "istio.io/api@$istio_api")"
  operator_dir="$(module_dir "github.com/prometheus-operator/prometheus-operator@$prometheus_operator")"
  [ -n "$argo_dir" ] && [ -n "$istio_dir" ] && [ -n "$operator_dir" ] \
    || { echo "cluster-tools: the CRDs' modules could not be downloaded" >&2; exit 1; }
  rm -rf "$crds.tmp" && mkdir -p "$crds.tmp"  # a failed run's leftovers are read-only module files
  cp "$argo_dir"/manifests/crds/*-crd.yaml "$crds.tmp/"
  cp "$istio_dir/kubernetes/customresourcedefinitions.gen.yaml" "$crds.tmp/istio.yaml"
  for kind in podmonitors servicemonitors prometheusrules alertmanagerconfigs; do
    cp "$operator_dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$crds.tmp/"
  done
  chmod -R u+w "$crds.tmp" && mv "$crds.tmp" "$crds"
  echo "crds: copied from the modules"
else
  echo "crds: cached"
fi
ln -sfn "$crds" "$cache/crds"

# KWOK's own stages (node and pod life cycles with no kubelet), from its module.
kwok_version="$(version_of kwok sigs.k8s.io/kwok)"
stages="$cache/kwok-stages-$kwok_version"
if [ ! -f "$stages/stages.yaml" ]; then
  kwok_dir="$(module_dir "sigs.k8s.io/kwok@$kwok_version")/kustomize/stage"
  mkdir -p "$stages"
  for f in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease pod/fast/pod-ready \
           pod/fast/pod-complete pod/fast/pod-delete; do
    cat "$kwok_dir/$f.yaml"; echo "---"
  done > "$stages/stages.yaml.tmp"
  mv "$stages/stages.yaml.tmp" "$stages/stages.yaml"
  echo "kwok stages: copied from the module"
fi
ln -sfn "$stages" "$cache/kwok-stages"
echo "cluster-tools: $cache/bin"
