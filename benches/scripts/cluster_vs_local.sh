#!/usr/bin/env bash
# W1 and W3 on local[2] and on local-cluster[2,1] (two executor processes with one task
# slot each), alternately in one sitting, one JSON line per run (the cost of the process
# boundary). Usage: benches/scripts/cluster_vs_local.sh [runs] [repeat] > results.jsonl
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-3}"
REPEAT="${2:-5}"
INPUT="${INPUT:-/opt/spark-bench/data/words_2m.txt}"
cargo build --release -q -p spate-benches --bin stream_bench
BIN=target/release/stream_bench
for run in $(seq 1 "$RUNS"); do
  for wl in w1 w3; do
    for master in 'local[2]' 'local-cluster[2,1]'; do
      "$BIN" --workload "$wl" --input "$INPUT" --repeat "$REPEAT" --master "$master" --run "$run"
    done
  done
done
