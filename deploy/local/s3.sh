#!/usr/bin/env bash
# Local S3-compatible server for teachstream: SeaweedFS (Apache-2.0) in `weed mini` mode, one
# process running master + volume server + filer + S3 gateway (+ its small admin/maintenance
# worker), built from source through the Go module proxy (no registry we can reach has a binary).
# `weed mini` rather than `weed server -s3`: same S3 code, but it stops in ~2 s where
# `weed server` took 16-30 s (its filer/volume shutdown waits on connection timeouts).
#
#   deploy/local/s3.sh fetch    build weed into the cache if missing (idempotent; ~4 min on 2 cores,
#                               needs go >= 1.26 and ~4 GiB of scratch space under $TS_CACHE once)
#   deploy/local/s3.sh start    fetch if needed, start in the background, wait until S3 answers a
#                               signed ListBuckets (idempotent)
#   deploy/local/s3.sh stop     SIGTERM, wait, then SIGKILL (idempotent)
#   deploy/local/s3.sh status   exit 0 if running, 1 if not
#
# Environment (defaults):
#   SEAWEEDFS_VERSION  v0.0.0-20261109003541-7506e5f91cd6  (SeaweedFS 4.53; a version of the Go
#                      module github.com/seaweedfs/seaweedfs; the pseudo-version is what the proxy serves)
#   TS_CACHE           ${XDG_CACHE_HOME:-$HOME/.cache}/teachstream   binary: $TS_CACHE/seaweedfs-$SEAWEEDFS_VERSION/weed
#   TS_STACK           $PWD/.stack   data $TS_STACK/data/s3 (kept across stop/start), log $TS_STACK/logs/s3.log,
#                                    pid $TS_STACK/run/s3.pid, credentials file $TS_STACK/run/s3-identities.json
#   S3_PORT            8333    S3 endpoint http://127.0.0.1:$S3_PORT
#   S3_ACCESS_KEY      teachstream
#   S3_SECRET_KEY      teachstream-secret
#   S3_REGION          us-east-1  (SeaweedFS accepts any region in a SigV4 signature; used by the probe)
#   S3_USERS_FILE      (none)  more identities, one line each: "sink|reader ACCESS_KEY SECRET_KEY BUCKET":
#                      sink may read, write, list and tag objects of BUCKET, reader read and list them;
#                      S3_ACCESS_KEY stays the administrator (buckets, lifecycle rules)
#   S3_GOMEMLIMIT      512MiB  soft heap limit of the weed process (Go GOMEMLIMIT)
#   S3_START_TIMEOUT   60      seconds to wait for readiness
#   S3_STOP_TIMEOUT    30      seconds to wait after SIGTERM before SIGKILL
#
# Ports, all on 127.0.0.1 and all derived from S3_PORT (10 in a row, S3_PORT..S3_PORT+9):
#   S3_PORT    S3 (http)          S3_PORT+1  master (http)   S3_PORT+2  master (gRPC)
#   S3_PORT+3  volume (http)      S3_PORT+4  volume (gRPC)   S3_PORT+5  filer (http)
#   S3_PORT+6  filer (gRPC)       S3_PORT+7  S3 (gRPC)       S3_PORT+8  admin (http, no UI)
#   S3_PORT+9  admin (gRPC, for the built-in maintenance worker)
# SeaweedFS also creates unix sockets /tmp/seaweedfs-*-<port>.sock named after those ports.
# Telemetry, WebDAV, the admin UI, the Iceberg/Lance catalogs and bucket auto-creation are off;
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / S3_BUCKET of the caller are not passed on (weed mini
# would turn them into an extra identity / buckets). Config files:
# deploy/local/s3/{filer,security}.toml (shadow any in ~/.seaweedfs or /etc/seaweedfs).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF_DIR=$SCRIPT_DIR/s3          # filer.toml / security.toml, passed as -config_dir

SEAWEEDFS_VERSION=${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}
SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs
TS_CACHE=$(realpath -m "${TS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/teachstream}")
TS_STACK=$(realpath -m "${TS_STACK:-$PWD/.stack}")
S3_PORT=${S3_PORT:-8333}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-teachstream}
S3_SECRET_KEY=${S3_SECRET_KEY:-teachstream-secret}
S3_REGION=${S3_REGION:-us-east-1}
S3_GOMEMLIMIT=${S3_GOMEMLIMIT:-512MiB}
S3_START_TIMEOUT=${S3_START_TIMEOUT:-60}
S3_STOP_TIMEOUT=${S3_STOP_TIMEOUT:-30}

WEED_HOME=$TS_CACHE/seaweedfs-$SEAWEEDFS_VERSION
WEED=$WEED_HOME/weed
DATA=$TS_STACK/data/s3
LOGS=$TS_STACK/logs
LOG=$LOGS/s3.log
RUN=$TS_STACK/run
PIDFILE=$RUN/s3.pid
IDENTITIES=$RUN/s3-identities.json
LAST_RUN_BY=$DATA/last-run-by-version
LOG_ROTATE_BYTES=$((64 * 1024 * 1024))

say() { echo "s3: $*"; }
die() { echo "s3: ERROR: $*" >&2; exit 1; }
# shellcheck source=deploy/local/lib.sh
. "$SCRIPT_DIR/lib.sh"

for v in "$S3_PORT" "$S3_START_TIMEOUT" "$S3_STOP_TIMEOUT"; do
  [[ $v =~ ^[0-9]+$ ]] || die "not a number: '$v' (S3_PORT / S3_START_TIMEOUT / S3_STOP_TIMEOUT)"
done
((S3_PORT >= 1024 && S3_PORT + 9 <= 65535)) || die "S3_PORT=$S3_PORT: need 1024 <= S3_PORT and S3_PORT+9 <= 65535"
[[ $SEAWEEDFS_VERSION =~ ^v[0-9A-Za-z.+-]+$ ]] || die "SEAWEEDFS_VERSION '$SEAWEEDFS_VERSION' is not a Go module version (vX.Y.Z or a pseudo-version)"
for v in "$S3_ACCESS_KEY" "$S3_SECRET_KEY"; do
  [[ -n $v && $v =~ ^[][A-Za-z0-9_.~+/=:@!#%^*,?{}-]+$ ]] ||
    die "S3_ACCESS_KEY / S3_SECRET_KEY must be non-empty, without spaces, quotes or backslashes"
done

MASTER_PORT=$((S3_PORT + 1)) MASTER_GRPC=$((S3_PORT + 2))
VOLUME_PORT=$((S3_PORT + 3)) VOLUME_GRPC=$((S3_PORT + 4))
FILER_PORT=$((S3_PORT + 5)) FILER_GRPC=$((S3_PORT + 6))
S3_GRPC=$((S3_PORT + 7))
ADMIN_PORT=$((S3_PORT + 8)) ADMIN_GRPC=$((S3_PORT + 9))
ALL_PORTS=("$S3_PORT" "$MASTER_PORT" "$MASTER_GRPC" "$VOLUME_PORT" "$VOLUME_GRPC" "$FILER_PORT" "$FILER_GRPC"
  "$S3_GRPC" "$ADMIN_PORT" "$ADMIN_GRPC")

# ---------------------------------------------------------------------------------------------
# helpers

# sets PID and returns 0 if the pid file names a live weed of *this* stack
running() { pid_running "$PIDFILE" "-dir=$DATA"; }

# HTTP status of a SigV4-signed ListBuckets (000 if nothing answers)
probe() {
  if curl --help all 2>/dev/null | grep -q -- '--aws-sigv4'; then
    curl -s -o /dev/null -m 5 -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:s3" \
      --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "http://127.0.0.1:$S3_PORT/" 2>/dev/null || true
  else
    # curl < 7.75 cannot sign: any HTTP answer counts (an anonymous request gets 403)
    local c
    c=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$S3_PORT/" 2>/dev/null || true)
    [[ $c != 000 && -n $c ]] && echo 200 || echo 000
  fi
}

# ---------------------------------------------------------------------------------------------
# fetch: go mod download the pinned source, build weed with throwaway Go caches, keep the binary

fetch() {
  [[ -x $WEED && -f $WEED_HOME/.complete ]] && return 0
  lock 8 "$TS_CACHE/.seaweedfs-$SEAWEEDFS_VERSION.lock"
  [[ -x $WEED && -f $WEED_HOME/.complete ]] && return 0   # another caller built it meanwhile
  command -v go >/dev/null || die "go not found, needed once to build SeaweedFS (Go >= 1.21 on PATH; an older Go than the module asks for fetches that toolchain through the module proxy, GOTOOLCHAIN=auto)"
  local tmp t0=$SECONDS src commit
  tmp=$(mktemp -d "$TS_CACHE/.seaweedfs-$SEAWEEDFS_VERSION.XXXXXX")
  # shellcheck disable=SC2064
  trap "chmod -R u+w '$tmp' 2>/dev/null; rm -rf '$tmp'" EXIT
  say "building SeaweedFS $SEAWEEDFS_VERSION from the Go module proxy (takes a few minutes on 2 cores) ..."
  local -a goenv=(env GOMODCACHE="$tmp/gomod" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath"
    GOFLAGS=-modcacherw CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}")
  "${goenv[@]}" go mod download -json "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION" >"$tmp/download.json" 2>"$tmp/build.log" || true
  src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$tmp/download.json")
  if [[ -z $src || ! -d $src/weed ]]; then
    cat "$tmp/download.json" "$tmp/build.log" >&2
    die "could not download $SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION from the Go module proxy (is GOPROXY reachable? does that version exist?)"
  fi
  # go install refuses this module (its go.mod has replace directives): build inside a copy of it
  cp -r "$src" "$tmp/src"
  chmod -R u+w "$tmp/src"
  commit=${SEAWEEDFS_VERSION##*-}
  if ! (cd "$tmp/src" && "${goenv[@]}" go build -trimpath -o "$tmp/weed" \
      -ldflags "-s -w -X $SEAWEEDFS_MODULE/weed/util/version.COMMIT=${commit:0:8}" ./weed) >>"$tmp/build.log" 2>&1; then
    grep -v '^go: downloading' "$tmp/build.log" | tail -n 40 >&2
    die "building SeaweedFS $SEAWEEDFS_VERSION failed (see above; the module needs the Go version named in its go.mod)"
  fi
  "$tmp/weed" version >/dev/null 2>&1 || die "the built weed binary does not run"
  mkdir -p "$tmp/out"
  mv "$tmp/weed" "$tmp/out/weed"
  echo "$SEAWEEDFS_VERSION" >"$tmp/out/VERSION"
  touch "$tmp/out/.complete"
  rm -rf "$WEED_HOME"
  mv "$tmp/out" "$WEED_HOME"
  chmod -R u+w "$tmp" 2>/dev/null || true
  rm -rf "$tmp"
  trap - EXIT
  say "built $("$WEED" version 2>/dev/null | head -n 1) into $WEED in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------------------------
# start

# the identities of S3_USERS_FILE, as JSON objects each preceded by a comma
component_identities() {
  [[ -n ${S3_USERS_FILE:-} ]] || return 0
  [[ -r $S3_USERS_FILE ]] || die "S3_USERS_FILE=$S3_USERS_FILE cannot be read"
  local role key secret bucket actions
  while read -r role key secret bucket; do
    [[ -z $role || $role == \#* ]] && continue
    case $role in
      sink) actions="\"Read:$bucket\", \"Write:$bucket\", \"List:$bucket\", \"Tagging:$bucket\"" ;;
      reader) actions="\"Read:$bucket\", \"List:$bucket\"" ;;
      *) die "S3_USERS_FILE: unknown role '$role' (sink or reader)" ;;
    esac
    printf ',\n    {"name": "%s", "credentials": [{"accessKey": "%s", "secretKey": "%s"}], "actions": [%s]}' \
      "$role" "$key" "$secret" "$actions"
  done <"$S3_USERS_FILE"
}

write_identities() {
  mkdir -p "$RUN"
  local more
  more=$(component_identities)
  (umask 077 && cat >"$IDENTITIES.tmp" <<EOF
{
  "identities": [
    {
      "name": "teachstream",
      "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }$more
  ]
}
EOF
  )
  mv "$IDENTITIES.tmp" "$IDENTITIES"
}

explain_failure() {
  local why=$1 offset=$2
  echo "s3: ERROR: $why" >&2
  echo "---- last lines of $LOG ----" >&2
  tail -c +"$((offset + 1))" "$LOG" | tail -n 25 >&2 || true
  echo "----" >&2
  if tail -c +"$((offset + 1))" "$LOG" | grep -q 'address already in use'; then
    echo "s3: ERROR: a port is taken (SeaweedFS uses S3_PORT..S3_PORT+9 = $S3_PORT..$ADMIN_GRPC); set another S3_PORT." >&2
  fi
  echo "s3: full log: $LOG" >&2
}

start() {
  lock 9 "$RUN/s3.lock"
  if running; then
    say "already running (pid $PID, http://127.0.0.1:$S3_PORT)"
    return 0
  fi
  rm -f "$PIDFILE"
  fetch
  command -v curl >/dev/null || die "curl not found (needed for the readiness probe)"
  local p
  for p in "${ALL_PORTS[@]}"; do
    port_open "$p" && die "127.0.0.1:$p is already in use by another process (not the S3 server of $TS_STACK);" \
      "SeaweedFS needs S3_PORT..S3_PORT+9 ($S3_PORT..$ADMIN_GRPC); stop that process or set S3_PORT"
  done
  mkdir -p "$DATA" "$LOGS" "$RUN"
  write_identities

  # keep the log file bounded: rotate once it passes 64 MiB
  if [[ -f $LOG ]] && (($(stat -c %s "$LOG") > LOG_ROTATE_BYTES)); then mv -f "$LOG" "$LOG.1"; fi
  touch "$LOG"
  local offset t0=$SECONDS
  offset=$(stat -c %s "$LOG")
  echo "==== $(date -Is) s3.sh start: SeaweedFS $SEAWEEDFS_VERSION, S3 on 127.0.0.1:$S3_PORT ====" >>"$LOG"

  local -a cmd=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN
    -u S3_BUCKET -u S3_TABLE_BUCKET -u S3_EXTERNAL_URL GOMEMLIMIT="$S3_GOMEMLIMIT"
    "$WEED" -logtostderr=true -config_dir="$CONF_DIR" mini
    -dir="$DATA" -ip=127.0.0.1 -ip.bind=127.0.0.1
    -master.port="$MASTER_PORT" -master.port.grpc="$MASTER_GRPC" -master.telemetry=false
    -volume.port="$VOLUME_PORT" -volume.port.grpc="$VOLUME_GRPC"
    -filer.port="$FILER_PORT" -filer.port.grpc="$FILER_GRPC"
    -s3.port="$S3_PORT" -s3.port.grpc="$S3_GRPC" -s3.config="$IDENTITIES"
    -s3.port.iceberg=0 -s3.port.lance=0 -s3.autoCreateBucket=false
    -admin.ui=false -admin.port="$ADMIN_PORT" -admin.port.grpc="$ADMIN_GRPC" -admin.port.legacy=0
    -webdav=false)
  # own session (no terminal signals from the caller); the child writes its own pid, then execs weed.
  # weed runs with $DATA as cwd so that nothing it writes relative lands in the caller's directory.
  # fds 8/9 (the flock locks) are closed for it, or the server would hold run/s3.lock until it exits.
  (cd "$DATA" && setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" "${cmd[@]}" \
    >>"$LOG" 2>&1 </dev/null 8>&- 9>&-)
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $PIDFILE ]] && break; sleep 0.05; done
  [[ -s $PIDFILE ]] || { explain_failure "weed did not start" "$offset"; exit 1; }
  PID=$(<"$PIDFILE")

  local code
  while :; do
    if ! kill -0 "$PID" 2>/dev/null; then
      rm -f "$PIDFILE"
      explain_failure "SeaweedFS exited during startup" "$offset"
      exit 1
    fi
    code=$(probe)
    [[ $code == 200 ]] && break
    if ((SECONDS - t0 >= S3_START_TIMEOUT)); then
      explain_failure "S3 on 127.0.0.1:$S3_PORT not ready after ${S3_START_TIMEOUT}s (S3_START_TIMEOUT; last probe: HTTP $code); stopping it" "$offset"
      kill_and_wait "$PID" 10
      rm -f "$PIDFILE"
      exit 1
    fi
    sleep 0.2
  done
  echo "$SEAWEEDFS_VERSION" >"$LAST_RUN_BY"
  say "SeaweedFS ready: S3 http://127.0.0.1:$S3_PORT (pid $PID, $((SECONDS - t0)) s; data $DATA; log $LOG)"
}

# ---------------------------------------------------------------------------------------------
# stop / status

stop() {
  lock 9 "$RUN/s3.lock"
  if ! running; then
    rm -f "$PIDFILE"
    say "not running"
    return 0
  fi
  say "stopping (pid $PID) ..."
  kill_and_wait "$PID" "$S3_STOP_TIMEOUT"
  if kill -0 "$PID" 2>/dev/null; then die "pid $PID survived SIGKILL"; fi
  rm -f "$PIDFILE"
  say "stopped"
}

status() {
  if running; then
    local v="?"
    [[ -s $LAST_RUN_BY ]] && v=$(<"$LAST_RUN_BY")
    if [[ $(probe) == 200 ]]; then
      say "running (pid $PID, SeaweedFS $v, http://127.0.0.1:$S3_PORT)"
    else
      say "running (pid $PID, SeaweedFS $v), but S3 on 127.0.0.1:$S3_PORT is not answering yet"
    fi
    return 0
  fi
  say "not running"
  return 1
}

case ${1:-} in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 fetch|start|stop|status" >&2
    exit 2
    ;;
esac
