#!/usr/bin/env bash
# The web UI's cost: W1 (word count per batch, the queue feed saturated at 250 ms
# batches over the 2,000,000-line input, $REPEAT times) with the UI, its listeners and
# /metrics off and on, alternately in one sitting. With the UI on, a poller reads the
# Streaming page's API and /metrics each second, as a browser and Prometheus would.
# Prints the medians and the ratio on/off (the aim: above 0.98).
#
#   benches/scripts/ui_overhead.sh [rounds=5]
#
# JSON lines go to $OUT (default /tmp/ui_overhead.jsonl).
set -euo pipefail
rounds=${1:-5}
here="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$here/../shared/bench"
source "$bench/spark/env.sh"
data=${BENCH_DATA}/words_2m.txt
out=${OUT:-/tmp/ui_overhead.jsonl}
repeat=${REPEAT:-10}
: > "$out"
cargo build --release -q -p spate-benches --manifest-path "$here/Cargo.toml"
sb="$here/target/release/stream_bench"
for r in $(seq 1 "$rounds"); do
  for ui in false true; do
    "$sb" --workload w1 --input "$data" --lines-per-batch 2000000 --repeat "$repeat" \
      --batch-ms 250 --ui "$ui" --run "$r" | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(ui):
    v = [r["records_per_s"] for r in rows if r.get("ui") == ui and r["ok"]]
    return statistics.median(v), len(v)
off, n0 = med(False)
on, n1 = med(True)
print(f"w1 UI off {off/1e6:6.3f} M/s ({n0})  on {on/1e6:6.3f} M/s ({n1})  on/off {on/off:5.3f}")
PY
