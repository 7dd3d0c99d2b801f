#!/usr/bin/env bash
# Schema validation of the Kubernetes manifests: every resource of deploy/kubernetes/*.yaml (or the
# files given) against the schema of its kind, Kubernetes' own and the CRDs of Strimzi, the Prometheus
# Operator and KEDA, as published on npm by kubernetes-models (generated from those CRDs).
#
#   deploy/local/kubevalidate.sh [FILE.yaml ...]
#
# The first run installs the pinned packages (deploy/kubernetes/validate/package-lock.json) from the npm
# registry into $TS_CACHE/kubevalidate-<lock digest>; later runs use them. Needs node (20+) and npm.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=$ROOT/deploy/kubernetes/validate
TS_CACHE=$(realpath -m "${TS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/teachstream}")
say() { echo "kubevalidate: $*"; }
die() { echo "kubevalidate: ERROR: $*" >&2; exit 1; }

command -v node >/dev/null || die "node not found (apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm not found (apt-get install npm)"
digest=$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -c1-12)
HOME_DIR=$TS_CACHE/kubevalidate-$digest
if [[ ! -f $HOME_DIR/.complete ]]; then
  mkdir -p "$TS_CACHE"
  tmp=$(mktemp -d "$TS_CACHE/.kubevalidate.XXXXXX")
  cp "$SRC/package.json" "$SRC/package-lock.json" "$tmp/"
  say "installing the schema packages from the npm registry into $HOME_DIR ..."
  if ! (cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1); then
    tail -n 30 "$tmp/npm.log" >&2
    rm -rf "$tmp"
    die "npm ci failed (is the npm registry reachable?)"
  fi
  touch "$tmp/.complete"
  rm -rf "$HOME_DIR"
  mv "$tmp" "$HOME_DIR"
fi
cp "$SRC/validate.mjs" "$HOME_DIR/validate.mjs"  # beside its node_modules, where its imports resolve
if (($#)); then files=("$@"); else files=("$ROOT"/deploy/kubernetes/*.yaml); fi
abs=()
for f in "${files[@]}"; do abs+=("$(realpath "$f")"); done
exec node "$HOME_DIR/validate.mjs" "${abs[@]}"
