#!/usr/bin/env bash
# Start, stop and check the Apache Kafka broker of `make test-integration`.
#
#   kafkactl.sh start   start the broker and wait until it serves clients
#   kafkactl.sh stop    stop it (SIGTERM, then SIGKILL after 30 s), keep its data
#   kafkactl.sh kill    stop it at once with SIGKILL (a crash), keep its data
#   kafkactl.sh status  exit 0 if it is running
#
# Everything lives in $FAULTLINE_IT_KAFKA_DIR (created by integration.sh):
# server.properties, data/, broker.log, broker.pid. The jars are in
# $FAULTLINE_IT_KAFKA_LIBS. Integration tests call this script (its path is
# in $FAULTLINE_IT_KAFKA_CTL) to stop and restart the broker mid-stream; a
# restart keeps the port and the data.
set -euo pipefail

dir=${FAULTLINE_IT_KAFKA_DIR:?FAULTLINE_IT_KAFKA_DIR is not set: run through scripts/integration.sh}
libs=${FAULTLINE_IT_KAFKA_LIBS:?FAULTLINE_IT_KAFKA_LIBS is not set: run through scripts/integration.sh}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pidfile=$dir/broker.pid
log=$dir/broker.log

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [[ -n $st && $st != Z* ]]
}

running() {
  [[ -f $pidfile ]] && alive "$(cat "$pidfile")"
}

port() {
  sed -n 's/^listeners=PLAINTEXT:\/\/127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$dir/server.properties"
}

start() {
  if running; then
    echo "kafkactl: broker already running (pid $(cat "$pidfile"))" >&2
    return 0
  fi
  local before=0
  [[ -f $log ]] && before=$(grep -c 'Kafka Server started' "$log" || true)
  # Small heap: the machine is shared. exec so the pid is java's.
  (
    exec java -Xms256m -Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logfile="$log" \
      -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
      >>"$dir/broker.out" 2>&1
  ) &
  echo $! >"$pidfile"
  local deadline=$((SECONDS + ${FAULTLINE_IT_KAFKA_START_TIMEOUT:-120}))
  while ((SECONDS < deadline)); do
    if ! running; then
      echo "kafkactl: the broker exited during start; last lines of its logs:" >&2
      tail -n 30 "$dir/broker.out" "$log" >&2 2>/dev/null || true
      return 1
    fi
    local now
    now=$(grep -c 'Kafka Server started' "$log" 2>/dev/null || true)
    if ((${now:-0} > before)) && (exec 3<>"/dev/tcp/127.0.0.1/$(port)") 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "kafkactl: the broker did not start within ${FAULTLINE_IT_KAFKA_START_TIMEOUT:-120}s; last lines of its log:" >&2
  tail -n 30 "$log" >&2 2>/dev/null || true
  return 1
}

stop() {
  local sig=${1:-TERM}
  if ! running; then
    rm -f "$pidfile"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  kill "-$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if alive "$pid"; then
    echo "kafkactl: broker $pid ignored SIGTERM for 30s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  fi
  rm -f "$pidfile"
}

case ${1:-} in
  start) start ;;
  stop) stop TERM ;;
  kill) stop KILL ;;
  status) running ;;
  *)
    echo "usage: $0 start|stop|kill|status" >&2
    exit 2
    ;;
esac
