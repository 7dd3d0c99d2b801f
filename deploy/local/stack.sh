#!/usr/bin/env bash
# The local teachstream stack: Apache Kafka (KRaft), an S3-compatible server, the topics and
# bucket, and the pipeline workers (streams, sink).
#
#   deploy/local/stack.sh up       start everything not yet running (idempotent), write .stack/env
#   deploy/local/stack.sh down     stop everything (data under .stack/data is kept)
#   deploy/local/stack.sh status   say what runs
#   deploy/local/stack.sh s3-stop|s3-start|kafka-stop|kafka-start   one service (outage drills)
#
# Ports: derived from the checkout's path so that two checkouts on one machine do not collide,
# remembered in .stack/ports; TS_PORT_BASE=NNNNN overrides (Kafka on base+92, its controller on
# base+93, S3 on base+33, the S3 server's internal ports on base+34..base+42, the workers' metrics on
# base+50 (streams) and base+51 (sink)).
# STACK_WORKERS=0 starts Kafka and S3 without the pipeline workers.
# BROKERS=3 (at `up`; remembered): a three-node Kafka cluster (replication factor 3,
# min.insync.replicas 2) on base+92, base+94 and base+96 (controllers one port above each);
# `kafka-stop-node N` / `kafka-start-node N` stop and start one node.
# SECURE=1 (at `up`; remembered): Kafka with TLS and SASL/SCRAM, one user per component and
# least-privilege ACLs (`teachstream acl show`), and S3 keys per component (the sink reads and
# writes the bucket, readers read it); .stack/env is the administrator, .stack/env.<user> each
# component (agent, streams, sink, ops, reader); the workers run as their own users.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/deploy/local"
export TS_STACK=${TS_STACK:-$ROOT/.stack}
export TS_CACHE=${TS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/teachstream}
TS="$ROOT/.venv/bin/teachstream"
mkdir -p "$TS_STACK/logs" "$TS_STACK/data" "$TS_STACK/run"

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=deploy/local/lib.sh
. "$HERE/lib.sh"

ports() {
  if [[ -n "${TS_PORT_BASE:-}" ]]; then
    base=$TS_PORT_BASE
  elif [[ -f "$TS_STACK/ports" ]]; then
    base=$(cat "$TS_STACK/ports")
  else
    # below Linux's ephemeral range (32768+), so outgoing connections never hold our ports
    base=$(( 10000 + ($(printf '%s' "$ROOT" | cksum | cut -d' ' -f1) % 220) * 100 ))
  fi
  echo "$base" > "$TS_STACK/ports"
  export KAFKA_PORT=$((base + 92)) KAFKA_CONTROLLER_PORT=$((base + 93)) S3_PORT=$((base + 33))
  export STREAMS_METRICS_PORT=$((base + 50)) SINK_METRICS_PORT=$((base + 51))
}

check_free() { # check_free NAME PORT SERVICE_SCRIPT
  if port_open "$2" && ! "$3" status >/dev/null 2>&1; then
    die "port $2 ($1) is taken by another process; stop it, or choose other ports with TS_PORT_BASE=<n> make stack-up"
  fi
}

brokers() { # the Kafka nodes of this stack: BROKERS=1|3 at `up` (remembered for the other commands)
  [[ "${1:-}" == up ]] && echo "${BROKERS:-1}" > "$TS_STACK/brokers"
  KAFKA_BROKERS=$(cat "$TS_STACK/brokers" 2>/dev/null || echo 1)
  export KAFKA_BROKERS
}

bootstrap() { # host:port of every node, comma-separated
  local n out=""
  for ((n = 0; n < KAFKA_BROKERS; n++)); do out+="${out:+,}127.0.0.1:$((KAFKA_PORT + 2 * n))"; done
  echo "$out"
}

security() { # the Kafka security of this stack: SECURE=1 at `up` (remembered for the other commands)
  [[ "${1:-}" == up ]] && echo "${SECURE:-0}" > "$TS_STACK/secure-mode"
  KAFKA_SECURE=$(cat "$TS_STACK/secure-mode" 2>/dev/null || echo 0)
  export KAFKA_SECURE
}

password() { sed -n "s/^$1=//p" "$TS_STACK/secure/passwords"; }

s3_users() { # SECURE=1: S3 keys for the sink (read, write) and for readers (read), made once
  local file="$TS_STACK/secure/s3-users" role
  if [[ ! -s "$file" ]]; then
    mkdir -p "$TS_STACK/secure"
    ( umask 077
      for role in sink reader; do
        printf '%s teachstream-%s %s teachstream\n' "$role" "$role" "$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')"
      done > "$file" )
  fi
  echo "$file"
}

s3_key() { awk -v r="$1" -v f="$2" '$1 == r { print $f }' "$TS_STACK/secure/s3-users"; }

write_secure_env() { # TLS + SCRAM: .stack/env as the administrator, .stack/env.<user> as each component
  chmod 600 "$TS_STACK/env"
  cat >> "$TS_STACK/env" <<ENV
export TEACHSTREAM_KAFKA_SECURITY_PROTOCOL=SASL_SSL
export TEACHSTREAM_KAFKA_CA_FILE=$TS_STACK/secure/ca.crt
export TEACHSTREAM_KAFKA_USERNAME=admin
export TEACHSTREAM_KAFKA_PASSWORD=$(password admin)
ENV
  local user s3
  for user in agent streams sink ops reader; do
    case $user in  # S3: the sink writes the dataset, operators and ML readers read it, the rest has no key
      sink | reader) s3=$user ;;
      ops) s3=reader ;;
      *) s3="" ;;
    esac
    ( umask 077
      exec > "$TS_STACK/env.$user"
      echo ". $TS_STACK/env"
      if [[ $user == reader ]]; then
        echo "unset TEACHSTREAM_KAFKA_USERNAME TEACHSTREAM_KAFKA_PASSWORD"
      else
        echo "export TEACHSTREAM_KAFKA_USERNAME=$user"
        echo "export TEACHSTREAM_KAFKA_PASSWORD=$(password "$user")"
      fi
      if [[ -n $s3 ]]; then
        echo "export AWS_ACCESS_KEY_ID=$(s3_key "$s3" 2)"
        echo "export AWS_SECRET_ACCESS_KEY=$(s3_key "$s3" 3)"
      else
        echo "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY"
      fi )
  done
}

write_env() {
  rm -f "$TS_STACK"/env.*
  cat > "$TS_STACK/env" <<ENV
# teachstream local stack; load with: . .stack/env
export TEACHSTREAM_KAFKA_BOOTSTRAP=$(bootstrap)
export TEACHSTREAM_TOPIC_REPLICATION=$KAFKA_BROKERS
export TEACHSTREAM_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export TEACHSTREAM_S3_BUCKET=teachstream
export AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY:-teachstream}
export AWS_SECRET_ACCESS_KEY=${S3_SECRET_KEY:-teachstream-secret}
export AWS_REGION=${S3_REGION:-us-east-1}
export PATH="$ROOT/.venv/bin:\$PATH"
ENV
  if [[ $KAFKA_SECURE == 1 ]]; then write_secure_env; fi
}

worker_pid() { cat "$TS_STACK/run/$1.pid" 2>/dev/null || true; }
worker_running() { local pid; pid=$(worker_pid "$1"); [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; }

start_worker() { # start_worker NAME METRICS_PORT ARGS...
  local name=$1 metrics=$2; shift 2
  if worker_running "$name"; then say "$name worker already running"; return; fi
  # the local stack closes sessions after 20 s of inactivity (production: 5 min) so a demo shows them
  local env="$TS_STACK/env"
  [[ -f "$TS_STACK/env.$name" ]] && env="$TS_STACK/env.$name"  # its own Kafka user on a secure stack
  ( cd "$ROOT" && set -a && . "$env" && set +a &&
    export TEACHSTREAM_STREAMS_DATA_DIR="$TS_STACK/data/streams" \
      TEACHSTREAM_SESSION_GAP_S="${TEACHSTREAM_SESSION_GAP_S:-20}" \
      TEACHSTREAM_SESSION_GRACE_S="${TEACHSTREAM_SESSION_GRACE_S:-5}" \
      TEACHSTREAM_TICK_INTERVAL_S="${TEACHSTREAM_TICK_INTERVAL_S:-2}" \
      TEACHSTREAM_TICK_LAG_S="${TEACHSTREAM_TICK_LAG_S:-2}" \
      TEACHSTREAM_METRICS_PORT="$metrics" &&
    exec "$TS" "$@" >>"$TS_STACK/logs/$name.log" 2>&1 ) &
  echo $! > "$TS_STACK/run/$name.pid"
  sleep 3
  worker_running "$name" || die "the $name worker stopped at once; see $TS_STACK/logs/$name.log"
  say "$name worker started (log: .stack/logs/$name.log)"
}

stop_worker() {
  if worker_running "$1"; then
    kill_and_wait "$(worker_pid "$1")" 20
    say "$1 worker stopped"
  fi
  rm -f "$TS_STACK/run/$1.pid"
}

case "${1:-}" in
  up)
    [[ -x "$TS" ]] || die "the Python environment is missing; run \`make setup\` first"
    ports
    brokers up
    security up
    for ((n = 0; n < KAFKA_BROKERS; n++)); do
      check_free kafka "$((KAFKA_PORT + 2 * n))" "$HERE/kafka.sh"
      check_free kafka-controller "$((KAFKA_CONTROLLER_PORT + 2 * n))" "$HERE/kafka.sh"
    done
    check_free s3 "$S3_PORT" "$HERE/s3.sh"
    start=$(date +%s%N)
    "$HERE/kafka.sh" start
    if [[ $KAFKA_SECURE == 1 ]]; then S3_USERS_FILE=$(s3_users) "$HERE/s3.sh" start; else "$HERE/s3.sh" start; fi
    write_env
    ( set -a && . "$TS_STACK/env" && set +a && "$TS" provision ) | sed 's/^/stack: /'
    if [[ $KAFKA_SECURE == 1 ]]; then
      ( set -a && . "$TS_STACK/env" && set +a && "$TS" acl apply ) | sed 's/^/stack: /'
    fi
    if [[ "${STACK_WORKERS:-1}" != 0 ]]; then
      start_worker streams "$STREAMS_METRICS_PORT" streams
      start_worker sink "$SINK_METRICS_PORT" sink
    fi
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    say "up in $((ms / 1000)).$(( (ms % 1000) / 100 ))s: Kafka $(bootstrap), S3 http://127.0.0.1:$S3_PORT"
    [[ $KAFKA_SECURE == 1 ]] && say "Kafka: TLS and SASL/SCRAM, ACLs enforced; S3: a key per component;" \
      ".stack/env is the administrator, \`. .stack/env.<agent|streams|sink|ops|reader>\` a component"
    [[ "${STACK_WORKERS:-1}" != 0 ]] && say "metrics: http://127.0.0.1:$STREAMS_METRICS_PORT/metrics (streams)," \
      "http://127.0.0.1:$SINK_METRICS_PORT/metrics (sink)"
    say "load its settings with: . .stack/env    stop it with: make stack-down"
    ;;
  down)
    ports
    brokers
    security
    stop_worker sink
    stop_worker streams
    "$HERE/s3.sh" stop
    "$HERE/kafka.sh" stop
    ;;
  status)
    ports
    brokers
    rc=0
    if "$HERE/kafka.sh" status >/dev/null; then say "kafka: running on $KAFKA_PORT"; else say "kafka: stopped"; rc=1; fi
    if "$HERE/s3.sh" status >/dev/null; then say "s3: running on $S3_PORT"; else say "s3: stopped"; rc=1; fi
    for w in streams sink; do
      if worker_running "$w"; then say "$w worker: running"; else say "$w worker: stopped"; fi
    done
    exit $rc
    ;;
  workers-stop)  # the stack's own stream and sink workers (make chaos runs its own)
    stop_worker sink
    stop_worker streams
    ;;
  workers-start)
    ports
    brokers
    start_worker streams "$STREAMS_METRICS_PORT" streams
    start_worker sink "$SINK_METRICS_PORT" sink
    ;;
  kafka-stop-node|kafka-start-node)  # one node of a three-node cluster
    ports
    brokers
    security
    "$HERE/kafka.sh" "${1#kafka-}" "${2:-}"
    ;;
  kafka-stop|kafka-start|s3-stop|s3-start)  # one service, for outage drills and tests
    ports
    brokers
    security
    if [[ $KAFKA_SECURE == 1 && -s "$TS_STACK/secure/s3-users" ]]; then export S3_USERS_FILE="$TS_STACK/secure/s3-users"; fi
    "$HERE/${1%%-*}.sh" "${1#*-}"
    ;;
  *)
    echo "usage: $0 up|down|status|workers-stop|workers-start|kafka-stop|kafka-start|kafka-stop-node N|kafka-start-node N|s3-stop|s3-start" >&2; exit 2 ;;
esac
