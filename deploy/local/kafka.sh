#!/usr/bin/env bash
# Local Apache Kafka for teachstream: KRaft, combined broker+controller nodes, one by default or
# a three-node cluster (KAFKA_BROKERS=3), run straight from the Maven Central jars
# (org.apache.kafka:kafka_2.13 + runtime deps).
#
#   deploy/local/kafka.sh fetch    download the jars into the cache if missing (idempotent)
#   deploy/local/kafka.sh start    fetch if needed, format storage on first start, start in the
#                                  background, wait until the broker is ready (idempotent)
#   deploy/local/kafka.sh stop     SIGTERM, wait, then SIGKILL (idempotent)
#   deploy/local/kafka.sh status   exit 0 if running, 1 if not
#   deploy/local/kafka.sh stop-node N | start-node N   one node of a cluster (broker outage drills)
#
# Environment (defaults):
#   KAFKA_VERSION          4.4.0   (3.9.x works too, e.g. KAFKA_VERSION=3.9.1)
#   TS_CACHE               ${XDG_CACHE_HOME:-$HOME/.cache}/teachstream   jars: $TS_CACHE/kafka-$KAFKA_VERSION/libs
#   TS_STACK               $PWD/.stack   data $TS_STACK/data/kafka, log $TS_STACK/logs/kafka.log,
#                                        pid $TS_STACK/run/kafka.pid
#   KAFKA_PORT             9092    PLAINTEXT listener on 127.0.0.1
#   KAFKA_CONTROLLER_PORT  9093    KRaft controller listener on 127.0.0.1
#   KAFKA_HEAP_OPTS        -Xms256m -Xmx768m (-Xmx512m per node in a cluster)
#   KAFKA_BROKERS          1       3: a three-node cluster, node N on KAFKA_PORT+2(N-1) (controller
#                                  KAFKA_CONTROLLER_PORT+2(N-1)), data in $TS_STACK/data/kafka-cluster/node-N;
#                                  replication factor 3, min.insync.replicas 2 (plaintext only)
#   KAFKA_SECURE           0       1: TLS and SASL/SCRAM-SHA-512 on KAFKA_PORT, ACLs enforced (StandardAuthorizer),
#                                  one user per component (admin, agent, streams, sink, ops), a local CA; data in
#                                  $TS_STACK/data/kafka-secure, certificates and passwords in $TS_STACK/secure
#   KAFKA_START_TIMEOUT    90      seconds to wait for readiness
#   KAFKA_STOP_TIMEOUT     30      seconds to wait after SIGTERM before SIGKILL
# Needs java (17+) and mvn (fetch only) on PATH.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF_DIR=$SCRIPT_DIR/kafka

# Default: the newest Kafka on Maven Central (4.4.0); faust-streaming 0.15.3 + aiokafka 0.14.0
# (agents, tables/changelogs, exactly_once) and confluent-kafka 2.16.1 were checked against it and 3.9.1.
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
TS_CACHE=$(realpath -m "${TS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/teachstream}")
TS_STACK=$(realpath -m "${TS_STACK:-$PWD/.stack}")
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_BROKERS=${KAFKA_BROKERS:-1}
if [[ $KAFKA_BROKERS == 1 ]]; then KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}
else KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}; fi
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}

KAFKA_SECURE=${KAFKA_SECURE:-0}

KAFKA_HOME=$TS_CACHE/kafka-$KAFKA_VERSION
LIBS=$KAFKA_HOME/libs
SECRETS=$TS_STACK/secure
USERS=(admin agent streams sink ops)  # SCRAM users; the controller listener has its own PLAIN user
LOGS=$TS_STACK/logs
RUN=$TS_STACK/run
NODES=()
for ((n = 1; n <= KAFKA_BROKERS; n++)); do NODES+=("$n"); done

# node N: point the per-node globals (ports, data, log, pid and properties files) at node N
node() {
  NODE=$1
  NODE_PORT=$((KAFKA_PORT + 2 * (NODE - 1)))
  NODE_CONTROLLER_PORT=$((KAFKA_CONTROLLER_PORT + 2 * (NODE - 1)))
  if [[ $KAFKA_BROKERS == 1 ]]; then
    DATA=$TS_STACK/data/kafka
    [[ $KAFKA_SECURE == 1 ]] && DATA=$TS_STACK/data/kafka-secure
    CLUSTER_ID_FILE=$DATA/cluster.id
    LOG=$LOGS/kafka.log
    PIDFILE=$RUN/kafka.pid
    PROPS=$RUN/kafka-server.properties
  else
    DATA=$TS_STACK/data/kafka-cluster/node-$NODE
    CLUSTER_ID_FILE=$TS_STACK/data/kafka-cluster/cluster.id
    LOG=$LOGS/kafka-$NODE.log
    PIDFILE=$RUN/kafka-$NODE.pid
    PROPS=$RUN/kafka-server-$NODE.properties
  fi
  LOG_DIRS=$DATA/log              # Kafka's log.dirs (topic data and the KRaft metadata log)
  FORMATTED_BY=$DATA/formatted-by-version
  LAST_RUN_BY=$DATA/last-run-by-version
}
LOG_ROTATE_BYTES=$((64 * 1024 * 1024))
READY_MARK='Kafka Server started'

say() { echo "kafka: $*"; }
die() { echo "kafka: ERROR: $*" >&2; exit 1; }
# shellcheck source=deploy/local/lib.sh
. "$SCRIPT_DIR/lib.sh"

case $KAFKA_VERSION in
  3.*)
    MVN_PROFILE=reload4j
    LOG_OPTS=(-Dlog4j.configuration="file:$CONF_DIR/log4j.properties")
    ;;
  [4-9].* | [1-9][0-9].*)
    MVN_PROFILE=log4j2
    LOG_OPTS=(-Dlog4j2.configurationFile="$CONF_DIR/log4j2.properties")
    ;;
  *) die "unsupported KAFKA_VERSION '$KAFKA_VERSION' (use 3.9.x or 4.x)" ;;
esac
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_START_TIMEOUT" "$KAFKA_STOP_TIMEOUT"; do
  [[ $p =~ ^[0-9]+$ ]] || die "not a number: '$p' (KAFKA_PORT / KAFKA_CONTROLLER_PORT / *_TIMEOUT)"
done
[[ $KAFKA_BROKERS == 1 || $KAFKA_BROKERS == 3 ]] || die "KAFKA_BROKERS must be 1 or 3, not '$KAFKA_BROKERS'"
[[ $KAFKA_BROKERS == 1 || $KAFKA_SECURE == 0 ]] || die "a three-node cluster is plaintext only (KAFKA_SECURE=0)"
node 1

# ---------------------------------------------------------------------------------------------
# helpers

# sets PID and returns 0 if the pid file names a live broker of *this* stack
running() { pid_running "$PIDFILE" "$PROPS"; }

java_bin() {
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null; then command -v java
  else die "java not found (Kafka $KAFKA_VERSION needs Java 17+; on Debian: apt-get install openjdk-17-jre-headless)"
  fi
}

# ---------------------------------------------------------------------------------------------
# fetch

fetch() {
  [[ -f $KAFKA_HOME/.complete ]] && return 0
  lock 8 "$TS_CACHE/.kafka-$KAFKA_VERSION.lock"
  [[ -f $KAFKA_HOME/.complete ]] && return 0   # another caller fetched it meanwhile
  command -v mvn >/dev/null || die "mvn not found, needed once to fetch the Kafka jars (apt-get install maven)"
  local tmp t0=$SECONDS
  tmp=$(mktemp -d "$TS_CACHE/.kafka-$KAFKA_VERSION.XXXXXX")
  say "fetching Apache Kafka $KAFKA_VERSION (kafka_2.13 + runtime deps, $MVN_PROFILE logging) from Maven Central ..."
  if ! mvn -q -B -f "$CONF_DIR/pom.xml" -P "$MVN_PROFILE" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DoutputDirectory="$tmp/libs" >"$tmp/mvn.log" 2>&1; then
    tail -n 40 "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    die "could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central (does that version exist? is mvn able to reach the registry?)"
  fi
  [[ -f $tmp/libs/kafka_2.13-$KAFKA_VERSION.jar ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"; }
  echo "$KAFKA_VERSION" >"$tmp/VERSION"
  rm -f "$tmp/mvn.log"
  touch "$tmp/.complete"
  rm -rf "$KAFKA_HOME"
  mv "$tmp" "$KAFKA_HOME"
  say "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars into $LIBS in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------------------------
# secure mode: a local CA, the broker's certificate (127.0.0.1, localhost) and a password per user

secure_material() {
  [[ -f $SECRETS/.complete ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (KAFKA_SECURE=1 makes its certificates with it)"
  local tmp
  tmp=$(mktemp -d "$TS_STACK/.secure.XXXXXX")
  chmod 700 "$tmp"
  (
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=teachstream local CA" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
      -extfile san.ext -out broker.crt 2>/dev/null
    cat broker.key broker.crt ca.crt >broker.pem
    rm -f broker.csr san.ext ca.srl
    for user in "${USERS[@]}" controller; do
      printf '%s=%s\n' "$user" "$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')"
    done >passwords
    chmod 600 ./*
    chmod 644 ca.crt
  ) || { rm -rf "$tmp"; die "could not make the TLS certificates in $SECRETS"; }
  touch "$tmp/.complete"
  rm -rf "$SECRETS"
  mv "$tmp" "$SECRETS"
  say "made a local CA, the broker's certificate and passwords for ${USERS[*]} in $SECRETS"
}

password() { sed -n "s/^$1=//p" "$SECRETS/passwords"; }

secure_props() {
  local admin controller
  admin=$(password admin)
  controller=$(password controller)
  cat <<EOF
listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin";
# KRaft controllers cannot use SCRAM (its credentials live in the metadata they serve): PLAIN, on loopback
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$controller" user_controller="$controller";
ssl.keystore.type=PEM
ssl.keystore.location=$SECRETS/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$SECRETS/ca.crt
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:controller
EOF
}

plaintext_props() {
  cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$NODE_PORT,CONTROLLER://127.0.0.1:$NODE_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$NODE_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
EOF
}

# ---------------------------------------------------------------------------------------------
# start

voters() {
  local n out=""
  for ((n = 1; n <= KAFKA_BROKERS; n++)); do out+="${out:+,}$n@127.0.0.1:$((KAFKA_CONTROLLER_PORT + 2 * (n - 1)))"; done
  echo "$out"
}

replication_props() {
  if [[ $KAFKA_BROKERS == 1 ]]; then
    cat <<EOF
# single node
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
  else
    cat <<EOF
# three nodes: every record on all three, acknowledged (acks=all) once two have it
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
unclean.leader.election.enable=false
EOF
  fi
}

write_props() {
  mkdir -p "$RUN"
  cat >"$PROPS.tmp" <<EOF
# generated by deploy/local/kafka.sh on every start; edit the script, not this file
process.roles=broker,controller
node.id=$NODE
controller.quorum.voters=$(voters)
controller.listener.names=CONTROLLER
$(if [[ $KAFKA_SECURE == 1 ]]; then secure_props; else plaintext_props; fi)
log.dirs=$LOG_DIRS

$(replication_props)
group.initial.rebalance.delay.ms=0

# topics are created explicitly (faust / admin client), never by a typo'd producer
auto.create.topics.enable=false

# ~10 MB screenshots fit in one record
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
replica.fetch.response.max.bytes=16777216
EOF
  chmod 600 "$PROPS.tmp"  # passwords, in secure mode
  mv "$PROPS.tmp" "$PROPS"
}

new_cluster_id() {
  # a Kafka Uuid: 16 random bytes, url-safe base64 without padding (22 chars), not starting with '-'
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ ${#id} -eq 22 && $id != -* && $id != AAAAAAAAAAAAAAAAAAAAA[AQ] ]] && break
  done
  echo "$id"
}

format_if_needed() {
  mkdir -p "$DATA"
  [[ -f $LOG_DIRS/meta.properties ]] && return 0
  local cid out
  if [[ -s $CLUSTER_ID_FILE ]]; then
    cid=$(<"$CLUSTER_ID_FILE")
  else
    cid=$(new_cluster_id)
    echo "$cid" >"$CLUSTER_ID_FILE"
  fi
  say "formatting $LOG_DIRS (Kafka $KAFKA_VERSION, cluster id $cid)"
  local -a scram=()
  if [[ $KAFKA_SECURE == 1 ]]; then
    local user
    for user in "${USERS[@]}"; do scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(password "$user")]"); done
  fi
  if ! out=$("$JAVA" -cp "$LIBS/*" "${LOG_OPTS[@]}" kafka.tools.StorageTool format \
      -t "$cid" -c "$PROPS" "${scram[@]}" 2>&1 8>&- 9>&-); then
    echo "$out" >&2
    die "formatting the Kafka storage in $LOG_DIRS failed"
  fi
  echo "$KAFKA_VERSION" >"$FORMATTED_BY"
}

# the Kafka version that last ran (else formatted) the data dir, or nothing
data_version() {
  if [[ -s $LAST_RUN_BY ]]; then cat "$LAST_RUN_BY"
  elif [[ -s $FORMATTED_BY ]]; then cat "$FORMATTED_BY"
  fi
}

# explain a failed start, with a hint when the data dir belongs to another Kafka version
explain_failure() {
  local why=$1 offset=$2 prev=""
  echo "kafka: ERROR: $why" >&2
  echo "---- last lines of $LOG ----" >&2
  tail -c +"$((offset + 1))" "$LOG" | grep -v '^\s*at ' | tail -n 25 >&2 || true
  echo "----" >&2
  prev=$(data_version)
  if [[ -n $prev && $prev != "$KAFKA_VERSION" ]]; then
    echo "kafka: ERROR: the data dir $DATA was formatted/last run by Kafka $prev, not $KAFKA_VERSION;" \
      "that is the likely cause (an older Kafka cannot read metadata written by a newer one)." \
      "Use KAFKA_VERSION=$prev, or delete $DATA (loses all topics) to start fresh." >&2
  fi
  if tail -c +"$((offset + 1))" "$LOG" | grep -F 'Address already in use' >/dev/null; then
    echo "kafka: ERROR: a port is taken (KAFKA_PORT=$KAFKA_PORT, KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT)." >&2
  fi
  echo "kafka: full log: $LOG" >&2
}

# launch node $NODE in the background (its globals set by `node`); sets OFFSETS[$NODE] to where
# this run's lines start in its log
declare -A OFFSETS=() STARTED=()
launch() {
  rm -f "$PIDFILE"
  local p
  for p in "$NODE_PORT" "$NODE_CONTROLLER_PORT"; do
    port_open "$p" && die "127.0.0.1:$p is already in use by another process (not the broker of $TS_STACK);" \
      "stop it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
  done
  mkdir -p "$DATA" "$LOGS" "$RUN"
  [[ $KAFKA_SECURE == 1 ]] && secure_material
  write_props
  format_if_needed

  # keep the log file bounded: rotate once it passes 64 MiB
  if [[ -f $LOG ]] && (($(stat -c %s "$LOG") > LOG_ROTATE_BYTES)); then mv -f "$LOG" "$LOG.1"; fi
  touch "$LOG"
  local prev
  OFFSETS[$NODE]=$(stat -c %s "$LOG")
  STARTED[$NODE]=$SECONDS
  prev=$(data_version)
  [[ -n $prev && $prev != "$KAFKA_VERSION" ]] &&
    say "note: $DATA was last run by Kafka $prev; starting it with Kafka $KAFKA_VERSION"
  echo "==== $(date -Is) kafka.sh start: Apache Kafka $KAFKA_VERSION on 127.0.0.1:$NODE_PORT ====" >>"$LOG"

  local -a heap cmd
  read -ra heap <<<"$KAFKA_HEAP_OPTS"
  cmd=("$JAVA" "${heap[@]}"
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    "${LOG_OPTS[@]}" -cp "$LIBS/*" kafka.Kafka "$PROPS")
  # own session (no terminal signals from the caller); the child writes its own pid, then execs java
  # (lock fds 8/9 are closed for it: otherwise the broker would hold the start/stop lock forever)
  # shellcheck disable=SC2016  # $$ and $@ are for the inner bash
  setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" "${cmd[@]}" >>"$LOG" 2>&1 </dev/null 8>&- 9>&-
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $PIDFILE ]] && break; sleep 0.05; done
  [[ -s $PIDFILE ]] || die "could not launch the broker (no pid written); see $LOG"
}

# wait until node $NODE (launched by `launch`) is ready; stop it and exit 1 if it is not in time
wait_ready() {
  local offset=${OFFSETS[$NODE]} t0=${STARTED[$NODE]}
  PID=$(<"$PIDFILE")
  while :; do
    if ! kill -0 "$PID" 2>/dev/null; then
      rm -f "$PIDFILE"
      explain_failure "Kafka $KAFKA_VERSION exited during startup" "$offset"
      exit 1
    fi
    # (no grep -q: with pipefail an early-exiting grep can fail the pipeline via SIGPIPE in tail)
    if tail -c +"$((offset + 1))" "$LOG" | grep -F "$READY_MARK" >/dev/null && port_open "$NODE_PORT"; then
      break
    fi
    if ((SECONDS - t0 >= KAFKA_START_TIMEOUT)); then
      explain_failure "Kafka $KAFKA_VERSION not ready after ${KAFKA_START_TIMEOUT}s (KAFKA_START_TIMEOUT); stopping it" "$offset"
      kill_and_wait "$PID" 10
      rm -f "$PIDFILE"
      exit 1
    fi
    sleep 0.2
  done
  echo "$KAFKA_VERSION" >"$LAST_RUN_BY"
  local name="Apache Kafka $KAFKA_VERSION"
  [[ $KAFKA_BROKERS == 1 ]] || name+=" node $NODE of $KAFKA_BROKERS"
  say "$name ready on 127.0.0.1:$NODE_PORT (pid $PID, $((SECONDS - t0)) s; log $LOG)"
}

# start the nodes in NODES that are not running; a cluster's nodes all launch before any is
# waited for (a node is ready only once a majority of the controllers is up)
start() {
  lock 9 "$RUN/kafka.lock"
  local n
  local -a launched=()
  for n in "${NODES[@]}"; do
    node "$n"
    if running; then
      say "node $n already running (pid $PID, 127.0.0.1:$NODE_PORT)"
      continue
    fi
    if [[ ${#launched[@]} == 0 ]]; then fetch; JAVA=$(java_bin); fi
    launch
    launched+=("$n")
  done
  for n in "${launched[@]}"; do
    node "$n"
    wait_ready
  done
}

# ---------------------------------------------------------------------------------------------
# stop / status

stop() {
  lock 9 "$RUN/kafka.lock"
  local n
  # a cluster's nodes get SIGTERM together: stopped one by one, the last ones lose their
  # controller quorum and wait out their shutdown timeout
  for n in "${NODES[@]}"; do node "$n"; if running; then kill -TERM "$PID" 2>/dev/null || true; fi; done
  for n in "${NODES[@]}"; do
    node "$n"
    if ! running; then
      rm -f "$PIDFILE"
      say "node $n not running"
      continue
    fi
    say "stopping node $n (pid $PID) ..."
    kill_and_wait "$PID" "$KAFKA_STOP_TIMEOUT"
    if kill -0 "$PID" 2>/dev/null; then die "pid $PID survived SIGKILL"; fi
    rm -f "$PIDFILE"
    say "node $n stopped"
  done
}

status() {
  local n rc=0 v
  for n in "${NODES[@]}"; do
    node "$n"
    if running; then
      v="?"
      [[ -s $LAST_RUN_BY ]] && v=$(<"$LAST_RUN_BY")
      if port_open "$NODE_PORT"; then
        say "node $n running (pid $PID, Kafka $v, 127.0.0.1:$NODE_PORT)"
      else
        say "node $n running (pid $PID, Kafka $v), but 127.0.0.1:$NODE_PORT is not accepting connections yet"
      fi
    else
      say "node $n not running"
      rc=1
    fi
  done
  return $rc
}

one_node() { # one_node N: restrict NODES to node N of the cluster
  [[ ${1:-} =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= KAFKA_BROKERS)) || die "no node '${1:-}' (1..$KAFKA_BROKERS)"
  NODES=("$1")
}

case ${1:-} in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  stop-node) one_node "${2:-}"; stop ;;
  start-node) one_node "${2:-}"; start ;;
  *)
    echo "usage: $0 fetch|start|stop|status|stop-node N|start-node N" >&2
    exit 2
    ;;
esac
