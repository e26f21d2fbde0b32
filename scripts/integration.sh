#!/usr/bin/env bash
# make test-integration: run the integration suite (ingest/integration, build
# tag "integration") against a real Apache Kafka broker.
#
# 1. Fetches Apache Kafka (org.apache.kafka:kafka_2.13 and what it needs at
#    run time, scripts/kafka/pom.xml) from Maven Central with
#    `mvn dependency:copy-dependencies`, once: the jars are cached in
#    .cache/kafka/<version>/libs and later runs do not touch the network.
# 2. Formats a KRaft storage directory in a temporary directory and starts
#    one combined broker + controller on free ports of 127.0.0.1.
# 3. Runs `go test` on ./ingest/integration/... with
#      FAULTLINE_IT_BROKERS   host:port of the broker
#      FAULTLINE_IT_KAFKA_CTL scripts/kafka/kafkactl.sh (stop/kill/start it)
#      FAULTLINE_IT_BIN       the faultline binary (make build)
#      FAULTLINE_IT_PROXY_LISTEN, FAULTLINE_IT_PROXY_UPSTREAM  where the
#        fault tests' proxy listens (the address the broker's second
#        listener advertises) and what it forwards to
# 4. Stops the broker and removes the temporary directory on exit, pass or
#    fail (also on Ctrl-C).
#
# Needs Java 17+ and Maven; without them it fails (it never skips). The
# fault suite (GO_TAGS with "faults", the default IT_RUN) also needs root,
# tmpfs mounts and a writable memory cgroup: checked first, it fails with
# what is missing rather than pass without its faults.
# Environment: GO (go), GO_TAGS (set by the Makefile), IT_TIMEOUT (30m),
# IT_RUN (a -run pattern), KEEP_IT_DIR=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start_time=$SECONDS

GO=${GO:-go}
GO_TAGS=${GO_TAGS:?GO_TAGS is not set: run this through 'make test-integration'}
IT_TIMEOUT=${IT_TIMEOUT:-30m}

die() {
  echo "integration: $*" >&2
  exit 1
}

# --- prerequisites -----------------------------------------------------------
command -v java >/dev/null 2>&1 ||
  die "java not found: the integration suite runs a real Apache Kafka broker, which needs Java 17 or later (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)"
command -v mvn >/dev/null 2>&1 ||
  die "mvn not found: Maven fetches Apache Kafka from Maven Central (Debian/Ubuntu: apt-get install maven)"
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
[[ ${java_major:-0} -ge 17 ]] ||
  die "java ${java_major:-unknown} found, Apache Kafka 4 needs Java 17 or later"
[[ -x bin/faultline ]] || die "bin/faultline is missing: run 'make build' (make test-integration does)"

# The fault suite mounts tmpfs volumes and creates memory cgroups: check that
# this is allowed before fetching and starting anything (a subset chosen
# with IT_RUN is not checked here; its tests fail by themselves).
if [[ " $GO_TAGS " == *" faults "* && ${IT_RUN:-} == "^TestFault" ]]; then
  hint="run make test-faults as root where mounting and cgroups are allowed (a container needs --privileged), or a subset that needs neither: IT_RUN='TestFault(Network|KillMidCommit|DamagedFile)' make test-faults"
  [[ $(id -u) -eq 0 ]] || die "the fault suite needs root (tmpfs mounts, memory cgroups) and runs as $(id -un): $hint"
  probe=$(mktemp -d "${TMPDIR:-/tmp}/faultline-faults-probe.XXXXXX")
  if ! out=$(mount -t tmpfs -o size=1m tmpfs "$probe" 2>&1); then
    rmdir "$probe"
    die "cannot mount a tmpfs ($(echo $out)): $hint"
  fi
  umount "$probe" && rmdir "$probe"
  memcg=
  while IFS=: read -r _ ctrls path; do
    if [[ -z $ctrls ]]; then
      for r in /sys/fs/cgroup /sys/fs/cgroup/unified; do
        if [[ -f $r/cgroup.controllers ]] && grep -qw memory "$r$path/cgroup.subtree_control" 2>/dev/null; then memcg=$r$path; fi
      done
    elif [[ ,$ctrls, == *,memory,* ]]; then
      memcg=/sys/fs/cgroup/memory$path
    fi
    [[ -n $memcg ]] && break
  done </proc/self/cgroup
  [[ -n $memcg ]] || die "no memory cgroup controller (v1, or v2 with memory in cgroup.subtree_control) for this process: $hint"
  probe=$memcg/faultline-probe-$$
  mkdir "$probe" 2>/dev/null || die "cannot create a memory cgroup under $memcg: $hint"
  rmdir "$probe"
fi

# --- Apache Kafka jars, cached -----------------------------------------------
kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)
[[ -n $kafka_version ]] || die "cannot read kafka.version from scripts/kafka/pom.xml"
libs=$root/.cache/kafka/$kafka_version/libs
pom_sum=$(cksum <scripts/kafka/pom.xml | cut -d' ' -f1)
if [[ ! -f $libs/.complete || $(cat "$libs/.complete") != "$pom_sum" ]]; then
  echo "integration: fetching Apache Kafka $kafka_version from Maven Central (once; cached in .cache/kafka)"
  rm -rf "$libs" "$libs.tmp"
  mkdir -p "$(dirname "$libs")"
  mvn -q -B -Dstyle.color=never -f scripts/kafka/pom.xml dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs.tmp" ||
    die "mvn could not fetch Apache Kafka $kafka_version (is Maven Central reachable? see the output above)"
  echo "$pom_sum" >"$libs.tmp/.complete"
  mv "$libs.tmp" "$libs"
fi

# --- a KRaft broker on free local ports --------------------------------------
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free local port found"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/faultline-it.XXXXXX")
export FAULTLINE_IT_KAFKA_DIR=$work
export FAULTLINE_IT_KAFKA_LIBS=$libs
export FAULTLINE_IT_KAFKA_CTL=$root/scripts/kafka/kafkactl.sh

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  "$FAULTLINE_IT_KAFKA_CTL" stop || true
  if [[ $rc -ne 0 && -f $work/broker.log ]]; then
    echo "integration: last lines of the broker log:" >&2
    tail -n 20 "$work/broker.log" >&2 || true
  fi
  if [[ ${KEEP_IT_DIR:-} == 1 ]]; then
    echo "integration: kept $work"
  else
    rm -rf "$work"
  fi
  echo "integration: finished in $((SECONDS - start_time))s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Four distinct free ports: the broker's listener, the controller's, and a
# second client listener (PROXIED) that advertises the address of a
# fault-injecting proxy (toxiproxy, started by the fault tests): a client
# that bootstraps through the proxy is told to reconnect to the proxy, so
# every byte between it and the broker passes through the proxy.
ports=()
while ((${#ports[@]} < 4)); do
  p=$(free_port)
  [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
port=${ports[0]} cport=${ports[1]} pport=${ports[2]} proxyport=${ports[3]}
cat >"$work/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport,PROXIED://127.0.0.1:$pport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,PROXIED://127.0.0.1:$proxyport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PROXIED:PLAINTEXT
log.dirs=$work/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
PROPS
# A KRaft cluster id is 16 random bytes in URL-safe base64; one starting
# with '-' reads as an option to the storage tool ("--cluster-id: expected
# one argument", 1 run in 64), so draw again until it does not.
cluster_id=-
while [[ $cluster_id == -* ]]; do
  cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
done
java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$root/scripts/kafka/log4j2.properties" -Dkafka.logfile="$work/format.log" \
  -cp "$libs/*" kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$work/server.properties" \
  >"$work/format.out" 2>&1 || { cat "$work/format.out" >&2; die "formatting the KRaft storage failed"; }

echo "integration: starting Apache Kafka $kafka_version on 127.0.0.1:$port"
"$FAULTLINE_IT_KAFKA_CTL" start || die "Apache Kafka did not start"
echo "integration: broker ready after $((SECONDS - start_time))s"

# --- the suite ---------------------------------------------------------------
export FAULTLINE_IT_BROKERS=127.0.0.1:$port
# The fault tests' proxy listens on FAULTLINE_IT_PROXY_LISTEN (what the
# PROXIED listener advertises) and forwards to FAULTLINE_IT_PROXY_UPSTREAM.
export FAULTLINE_IT_PROXY_LISTEN=127.0.0.1:$proxyport
export FAULTLINE_IT_PROXY_UPSTREAM=127.0.0.1:$pport
export FAULTLINE_IT_BIN=$root/bin/faultline
run=()
[[ -n ${IT_RUN:-} ]] && run=(-run "$IT_RUN")
"$GO" test -tags "$GO_TAGS" -count=1 -timeout "$IT_TIMEOUT" -v "${run[@]}" ./ingest/integration/... "$@"
