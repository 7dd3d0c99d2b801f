# shellcheck shell=bash
# Shell helpers shared by kafka.sh, s3.sh and stack.sh; source it after defining say() and die().

# lock FD FILE: take an exclusive lock on FILE with descriptor FD (serialises start/stop/fetch)
lock() {
  local fd=$1 file=$2
  mkdir -p "$(dirname "$file")"
  eval "exec $fd>\"\$file\""
  flock -w 900 "$fd" || die "timed out waiting for lock $file"
}

# port_open PORT: 0 if something listens on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_running PIDFILE MARK: sets PID; 0 if PIDFILE names a live process whose command line has
# the argument MARK (guards against a recycled pid)
pid_running() {
  local pidfile=$1 mark=$2
  PID=
  [[ -f $pidfile ]] || return 1
  PID=$(<"$pidfile") || return 1
  [[ $PID =~ ^[0-9]+$ ]] || return 1
  kill -0 "$PID" 2>/dev/null || return 1
  tr '\0' '\n' <"/proc/$PID/cmdline" 2>/dev/null | grep -qxF -- "$mark" || return 1
}

# kill_and_wait PID TIMEOUT: SIGTERM, wait up to TIMEOUT seconds, then SIGKILL
kill_and_wait() {
  local pid=$1 timeout=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "still running ${timeout}s after SIGTERM, sending SIGKILL to $pid"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}
