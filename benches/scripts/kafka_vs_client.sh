#!/usr/bin/env bash
# Kafka word count: spate's direct stream against the plain client (rdkafka) reading the
# same topic, alternately in one sitting, on a tansu broker started here (127.0.0.1,
# its own data directory). The topic gets the first $LINES lines of the benchmark input
# (10 words each), round robin over 3 partitions. Each run reads it whole from the start:
#   client           one consumer of all partitions, a HashMap word count
#   client-parallel  one consumer and count per partition, in threads (spate's parallelism)
#   spate            create_direct_stream on local[2], flat_map + reduce_by_key
# Each JSON line also gets the CPU seconds the broker used during the run.
#
#   benches/scripts/kafka_vs_client.sh [rounds=3]      # JSON lines to $OUT (/tmp/kafka_vs_client.jsonl)
set -euo pipefail
rounds=${1:-3}
here="$(cd "$(dirname "$0")/../.." && pwd)"
lines=${LINES:-300000}
data=${DATA:-/opt/spark-bench/data/words_2m.txt}
out=${OUT:-/tmp/kafka_vs_client.jsonl}
tansu=${TANSU:-$(command -v tansu || echo "$HOME/.cache/spate-services/tansu/bin/tansu")}
: > "$out"
cargo build --release -q -p spate-kafka --example kafka_bench --manifest-path "$here/Cargo.toml"
kb="$here/target/release/examples/kafka_bench"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
(cd "$dir" && exec "$tansu" broker --listener-url "tcp://127.0.0.1:$port" \
  --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine sqlite://tansu.db > tansu.log 2>&1) &
broker=$!
trap 'kill $broker 2>/dev/null; wait $broker 2>/dev/null; rm -rf "$dir"' EXIT
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
"$tansu" topic create --broker "tcp://127.0.0.1:$port" --partitions 3 wc > /dev/null
"$kb" load "127.0.0.1:$port" wc "$data" "$lines"
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$broker/stat"; }
for r in $(seq 1 "$rounds"); do
  for mode in client client-parallel spate; do
    before=$(cpu)
    line=$("$kb" "$mode" "127.0.0.1:$port" wc "$r" 2>/dev/null)
    after=$(cpu)
    echo "${line%\}},\"broker_cpu_s\":$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')}" | tee -a "$out"
  done
done
