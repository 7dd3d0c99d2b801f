#!/usr/bin/env bash
# promtool, Prometheus's rule checker, built from the Go module proxy into the cache (no registry we can
# reach has a binary), for the test that checks deploy/prometheus/alerts.yaml.
#
#   deploy/local/promtool.sh fetch   build it if missing (idempotent; a few minutes on 2 cores, once)
#   deploy/local/promtool.sh path    print the binary's path (after fetch)
#
#   PROMETHEUS_VERSION  v0.316.0 (Prometheus 3.x; the Go module's version scheme)
#   TS_CACHE            ${XDG_CACHE_HOME:-$HOME/.cache}/teachstream   binary: $TS_CACHE/promtool-$PROMETHEUS_VERSION/promtool
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}
TS_CACHE=${TS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/teachstream}
HOME_DIR=$TS_CACHE/promtool-$PROMETHEUS_VERSION
BIN=$HOME_DIR/promtool
say() { echo "promtool: $*"; }
die() { echo "promtool: ERROR: $*" >&2; exit 1; }
# shellcheck source=deploy/local/lib.sh
. "$SCRIPT_DIR/lib.sh"

fetch() {
  [[ -x $BIN ]] && return 0
  lock 8 "$TS_CACHE/.promtool-$PROMETHEUS_VERSION.lock"
  [[ -x $BIN ]] && return 0  # another caller built it meanwhile
  command -v go >/dev/null || die "go not found, needed once to build promtool"
  local tmp
  tmp=$(mktemp -d "$TS_CACHE/.promtool-$PROMETHEUS_VERSION.XXXXXX")
  # shellcheck disable=SC2064
  trap "chmod -R u+w '$tmp' 2>/dev/null; rm -rf '$tmp'" EXIT
  say "building promtool $PROMETHEUS_VERSION from the Go module proxy (a few minutes on 2 cores, once) ..."
  if ! env GOMODCACHE="$tmp/gomod" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" GOBIN="$tmp/bin" \
      GOFLAGS=-modcacherw CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" \
      go install -trimpath -ldflags "-s -w" "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" \
      >"$tmp/build.log" 2>&1; then
    grep -v '^go: downloading' "$tmp/build.log" | tail -n 40 >&2
    die "building promtool $PROMETHEUS_VERSION failed (see above)"
  fi
  "$tmp/bin/promtool" --version >/dev/null 2>&1 || die "the built promtool does not run"
  mkdir -p "$HOME_DIR"
  mv "$tmp/bin/promtool" "$BIN"
  say "built $BIN"
}

case ${1:-} in
  fetch) fetch ;;
  path) echo "$BIN" ;;
  *)
    echo "usage: $0 fetch|path" >&2
    exit 2
    ;;
esac
