#!/usr/bin/env bash
# A virtual X display for the capture agent: Xvfb and a small window manager (openbox).
#
#   deploy/local/display.sh start    start Xvfb on $TS_DISPLAY with openbox (idempotent); prints DISPLAY=...
#   deploy/local/display.sh stop     stop both
#   deploy/local/display.sh status   exit 0 if the display answers
#
# Environment (defaults): TS_DISPLAY :77, TS_DISPLAY_SIZE 1920x1080, TS_STACK $PWD/.stack (pids, logs).
# Needs: apt-get install xvfb openbox x11-utils x11-xserver-utils xdotool xterm
set -euo pipefail
TS_DISPLAY=${TS_DISPLAY:-:77}
TS_DISPLAY_SIZE=${TS_DISPLAY_SIZE:-1920x1080}
TS_STACK=$(realpath -m "${TS_STACK:-$PWD/.stack}")
RUN=$TS_STACK/run LOGS=$TS_STACK/logs
N=${TS_DISPLAY#:}

say() { echo "display: $*"; }
die() { echo "display: ERROR: $*" >&2; exit 1; }
alive() { [[ -s $1 ]] && kill -0 "$(<"$1")" 2>/dev/null; }
answers() { DISPLAY=$TS_DISPLAY xdpyinfo >/dev/null 2>&1; }
# launch PIDFILE LOG CMD...: in its own session; the child writes its own pid, then execs CMD
launch() {
  local pidfile=$1 log=$2; shift 2
  # shellcheck disable=SC2016  # $$ and $@ are for the inner bash
  setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$log" 2>&1 </dev/null
  for _ in $(seq 50); do [[ -s $pidfile ]] && return 0; sleep 0.05; done
  die "could not launch $1"
}

start() {
  for tool in Xvfb openbox xdpyinfo; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install xvfb openbox x11-utils)"
  done
  mkdir -p "$RUN" "$LOGS"
  if alive "$RUN/xvfb.pid" && answers; then
    say "already running (DISPLAY=$TS_DISPLAY)"
  else
    [[ -e /tmp/.X11-unix/X$N ]] && ! answers && rm -f "/tmp/.X11-unix/X$N" "/tmp/.X$N-lock"
    answers && die "display $TS_DISPLAY is taken by another X server; choose another with TS_DISPLAY=:<n>"
    launch "$RUN/xvfb.pid" "$LOGS/xvfb.log" Xvfb "$TS_DISPLAY" -screen 0 "${TS_DISPLAY_SIZE}x24" -nolisten tcp
    for _ in $(seq 100); do answers && break; sleep 0.05; done
    answers || die "Xvfb did not start; see $LOGS/xvfb.log"
  fi
  if ! alive "$RUN/openbox.pid"; then
    DISPLAY=$TS_DISPLAY launch "$RUN/openbox.pid" "$LOGS/openbox.log" openbox
    sleep 0.5
    alive "$RUN/openbox.pid" || die "openbox did not start; see $LOGS/openbox.log"
    DISPLAY=$TS_DISPLAY xsetroot -solid '#202020' 2>/dev/null || true
  fi
  say "ready: DISPLAY=$TS_DISPLAY ($TS_DISPLAY_SIZE, openbox)"
}

stop() {
  local f
  for f in openbox xvfb; do
    if alive "$RUN/$f.pid"; then kill "$(<"$RUN/$f.pid")" && say "$f stopped"; fi
    rm -f "$RUN/$f.pid"
  done
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) if answers; then say "running (DISPLAY=$TS_DISPLAY)"; else say "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
