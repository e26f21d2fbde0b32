#!/usr/bin/env bash
# scripts/bench-scaleout.sh N RELAY: total ingest throughput of N
# `faultline ingest` processes of one fresh consumer group (each its own
# file, --exit-when-caught-up), with the relay off (RELAY=0) or on (1),
# against a broker on 127.0.0.1:29092 whose topic "bench" holds the data
# (docs/benchmarks.md, Scale-out, says how it was filled). Prints the events
# stored over all files and the wall time from start to the last exit.
set -euo pipefail
B=${FAULTLINE:-bin/faultline}
DIR=${BENCH_DIR:-/tmp/so-bench}
mkdir -p "$DIR"
n=$1; relay=$2; tag=n$n-r$relay-$RANDOM
rm -f $DIR/$tag-*.duckdb*
env=()
[[ $relay == 1 ]] && env=(FAULTLINE_RELAY_TOPIC=relay-$tag)
start=$(date +%s.%N)
pids=()
for i in $(seq 1 $n); do
  env ${env[@]+"${env[@]}"} FAULTLINE_KAFKA_SESSION_TIMEOUT=6s $B ingest --db $DIR/$tag-$i.duckdb --brokers 127.0.0.1:29092 --group g-$tag --topic bench=app --exit-when-caught-up --log-level error &
  pids+=($!)
done
for p in "${pids[@]}"; do wait $p || echo "ingest $p failed"; done
end=$(date +%s.%N)
total=0
for i in $(seq 1 $n); do
  c=$($B --db $DIR/$tag-$i.duckdb query --format csv "SELECT count(*) FROM events" | tail -1)
  total=$((total + c))
done
secs=$(python3 -c "print(round($end-$start,2))")
echo "processes=$n relay=$relay events=$total seconds=$secs events_per_sec=$(python3 -c "print(int($total/($end-$start)))")"
rm -f $DIR/$tag-*.duckdb*
