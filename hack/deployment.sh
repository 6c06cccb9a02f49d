#!/usr/bin/env bash
# The deployment's settings, and what they render. Each of REGISTRY, TAG, MODEL, HOST, TLS_SECRET and OVERLAY
# given in the environment wins; else the one the last 'make deploy' saved in ConfigMap
# ml-canary-deployment; else the default. So after 'make deploy REGISTRY=ghcr.io/acme TAG=1.2 HOST=wine.acme.com',
# 'make rollout-v2' renders ghcr.io/acme images at 1.2 and keeps the host.
#   hack/deployment.sh show                    the settings, a KEY=VALUE line each
#   hack/deployment.sh get KEY                 one setting's value (make status: the Rollout is named MODEL)
#   hack/deployment.sh check                   one line and exit 2 when the cluster could not pull the images
#   hack/deployment.sh render [COMPONENT ...]  hack/render.sh with the settings
#   hack/deployment.sh configmap               the ConfigMap that saves them (make deploy applies it last)
set -euo pipefail
command=${1:?"usage: hack/deployment.sh show|get KEY|check|render [COMPONENT ...]|configmap"}; shift
namespace=${NAMESPACE:-ml-canary}
keys=(REGISTRY TAG MODEL HOST TLS_SECRET OVERLAY)
# HOST and TLS_SECRET default to names made from MODEL (hack/render.sh).
declare -A value=([REGISTRY]="" [TAG]=0.1.0 [MODEL]=wine [HOST]="" [TLS_SECRET]="" [OVERLAY]=mlserver)
# A read that fails (no cluster, no access) stops here: never fall back to defaults a deployment did not choose.
saved=$(kubectl -n "$namespace" get configmap ml-canary-deployment --ignore-not-found \
  -o go-template='{{range $k, $v := .data}}{{$k}}={{$v}}{{"\n"}}{{end}}')
saved_model=""
while IFS='=' read -r key val; do
  [[ -n $key && -v "value[$key]" ]] && value[$key]=$val
  [[ $key == MODEL ]] && saved_model=$val
done <<< "$saved"
for key in "${keys[@]}"; do
  [[ -v $key ]] && value[$key]=${!key}
done
# Docker's reference grammar, loosely: what reaches the manifests and the saved ConfigMap is a name, not YAML.
[[ ${value[REGISTRY]} =~ ^[a-z0-9.:/_-]*$ ]] \
  || { echo "REGISTRY=${value[REGISTRY]} is not a registry such as ghcr.io/acme" >&2; exit 2; }
[[ ${value[TAG]} =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] \
  || { echo "TAG=${value[TAG]} is not an image tag such as 0.1.0" >&2; exit 2; }
[[ ${value[OVERLAY]} =~ ^(mlserver|seldon)$ ]] || { echo "OVERLAY=${value[OVERLAY]} is not mlserver or seldon" >&2; exit 2; }
[[ ${value[MODEL]} =~ ^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$ ]] \
  || { echo "MODEL=${value[MODEL]} is not a model name such as fraud-detector" >&2; exit 2; }
# Saved as given: a HOST made from MODEL follows MODEL, one given stays.
declare -A given
for key in "${keys[@]}"; do given[$key]=${value[$key]}; done
[[ -n ${value[HOST]} ]] || value[HOST]=${value[MODEL]}.example.com
[[ -n ${value[TLS_SECRET]} ]] || value[TLS_SECRET]=${value[MODEL]}-tls

case $command in
  show)
    for key in "${keys[@]}"; do echo "$key=${value[$key]}"; done ;;
  get)
    key=${1:?"usage: hack/deployment.sh get KEY"}
    [[ -v "value[$key]" ]] || { echo "hack/deployment.sh: no setting $key (${keys[*]})" >&2; exit 2; }
    echo "${value[$key]}" ;;
  check)
    # Every object is named after the model: another name beside a deployed one would leave the old objects
    # serving, and two Gateways claiming one host.
    if [[ -n $saved_model && $saved_model != "${value[MODEL]}" ]]; then
      echo "the deployment in $namespace serves model $saved_model, not ${value[MODEL]}: 'make undeploy' it first" \
        "(or keep MODEL=$saved_model)" >&2
      exit 2
    fi
    if [[ -z ${value[REGISTRY]} ]]; then
      echo "no REGISTRY: pods would pull ml-canary-${value[OVERLAY]}:${value[TAG]}, which nobody pushed; run" \
        "'make images push deploy REGISTRY=ghcr.io/acme' (REGISTRY=none: images already on every node)" >&2
      exit 2
    fi ;;
  render)
    registry=${value[REGISTRY]}
    [[ $registry == none ]] && registry=""
    REGISTRY=$registry TAG=${value[TAG]} MODEL=${value[MODEL]} HOST=${value[HOST]} TLS_SECRET=${value[TLS_SECRET]} \
      "$(dirname "$0")/render.sh" "${value[OVERLAY]}" "$@" ;;
  configmap)
    echo "apiVersion: v1"
    echo "kind: ConfigMap"
    echo "metadata: {name: ml-canary-deployment, namespace: $namespace}"
    echo "data:"
    for key in "${keys[@]}"; do echo "  $key: \"${given[$key]}\""; done ;;
  *)
    echo "hack/deployment.sh: unknown command $command (show, get, check, render, configmap)" >&2
    exit 2 ;;
esac
