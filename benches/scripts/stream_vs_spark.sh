#!/usr/bin/env bash
# Streaming workloads W1, W2, W2inv, W3 and the socket latency test, spate against Apache
# Spark alternately in one sitting (see ../shared/bench/spark/README.md for the feed).
#
#   benches/scripts/stream_vs_spark.sh [rounds=3]
#
# Each round runs every workload on both engines with the standard feed (20 batches of
# the 2,000,000-line file at 1 s), plus spate alone with a saturating feed (the same 20
# batches at 250 ms: 8 M lines/s offered, more than it can process, so records_per_s is
# its capacity). Then the latency sweep: 100,000 lines/s over a socket, spate at 100, 50,
# 20 and 10 ms batches and Spark at 100 and 50 ms. JSON lines go to $OUT (default
# /tmp/stream_vs_spark.jsonl); summarize with ../shared/bench/summarize.py.
set -euo pipefail
rounds=${1:-3}
here="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$here/../shared/bench"
data=${BENCH_DATA:-/opt/spark-bench/data}/words_2m.txt
out=${OUT:-/tmp/stream_vs_spark.jsonl}
: > "$out"
cargo build --release -q -p spate-benches --manifest-path "$here/Cargo.toml"
sb="$here/target/release/stream_bench"
for r in $(seq 1 "$rounds"); do
  for wl in w1 w2 w2inv w3; do
    "$sb" --workload "$wl" --input "$data" --lines-per-batch 2000000 --repeat 20 --run "$r" | tee -a "$out"
    (cd "$bench/spark" && QUIET_WAIT_S=${QUIET_WAIT_S:-30} ./run.sh "$wl" --lines-per-batch 2000000 --repeat 20 --run "$r") | tee -a "$out"
    "$sb" --workload "$wl" --input "$data" --lines-per-batch 2000000 --repeat 20 --batch-ms 250 --run "sat$r" \
      | sed 's/"workload":"\([a-z0-9]*\)"/"workload":"\1-saturated"/' | tee -a "$out"
  done
done
port=${FEED_PORT:-19999}
python3 "$bench/feed_socket.py" --port "$port" --rate 100000 --input "$data" --max-seconds 3000 2>/tmp/feed_socket.log &
feeder=$!
trap 'kill "$feeder" 2>/dev/null || true' EXIT
sleep 1
for iv in 100 50 20 10; do
  "$sb" --workload latency --port "$port" --batch-ms "$iv" --seconds 20 --warmup-s 5 --expect-rate 100000 | tee -a "$out"
done
for iv in 100 50; do
  (cd "$bench/spark" && QUIET_WAIT_S=0 ./run.sh latency --batch-ms "$iv" --seconds 20 --warmup-s 5 --port "$port" --expect-rate 100000) | tee -a "$out" || true
done
python3 "$bench/summarize.py" "$out" || true
