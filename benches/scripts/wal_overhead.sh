#!/usr/bin/env bash
# The cost of fault tolerance, spate against Apache Spark alternately in one sitting:
# W3 (running word counts, state checkpointed every 10 batches) over a receiver that
# stores the 2,000,000-line input $REPEAT times as fast as the engine takes it, with the
# receiver write-ahead log off and on. Both runs checkpoint (W3 needs it); the log is
# what differs. The ratio on/off is each engine's overhead. With BEFORE=<stream_bench of
# a build without metadata checkpoints>, also W3 over the queue (the standard feed,
# saturated at 250 ms batches) before and after, for the cost of the metadata checkpoints.
#
#   benches/scripts/wal_overhead.sh [rounds=3]
#
# JSON lines go to $OUT (default /tmp/wal_overhead.jsonl).
set -euo pipefail
rounds=${1:-3}
here="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$here/../shared/bench"
source "$bench/spark/env.sh"
data=${BENCH_DATA}/words_2m.txt
out=${OUT:-/tmp/wal_overhead.jsonl}
repeat=${REPEAT:-5}
: > "$out"
cargo build --release -q -p spate-benches --manifest-path "$here/Cargo.toml"
sb="$here/target/release/stream_bench"
classes="$BENCH_BUILD/walbench"
mkdir -p "$classes"
javac -nowarn -Xlint:-deprecation --release 17 -cp "$SPARK_JARS/*" -d "$classes" "$here/benches/spark/WalBench.java"
[ -f "$BENCH_BUILD/jvm_opts.txt" ] || (cd "$bench/spark" && ./build.sh)
jvm_opts=$(cat "$BENCH_BUILD/jvm_opts.txt")
spark() {
  java -Xmx2g $jvm_opts -cp "$classes:$SPARK_JARS/*" spatebench.WalBench \
    --input "$data" --repeat "$repeat" --wal "$1" --run "$2" --work-dir "${BENCH_WORK:-/tmp}/walbench" 2>>/tmp/wal_overhead_spark.log
}
for r in $(seq 1 "$rounds"); do
  for wal in false true; do
    "$sb" --workload w3 --source receiver --wal "$wal" --input "$data" --lines-per-batch 2000000 \
      --repeat "$repeat" --run "$r" | sed 's/"workload":"w3"/"workload":"w3-receiver"/' | tee -a "$out"
    spark "$wal" "$r" | tee -a "$out"
  done
  if [ -n "${BEFORE:-}" ]; then
    "$BEFORE" --workload w3 --input "$data" --lines-per-batch 2000000 --repeat 20 --batch-ms 250 --run "before$r" \
      | sed 's/"engine":"spate"/"engine":"spate-before"/' | tee -a "$out"
    "$sb" --workload w3 --input "$data" --lines-per-batch 2000000 --repeat 20 --batch-ms 250 --run "after$r" | tee -a "$out"
  fi
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(engine, wl, **kw):
    same = (lambda e: e.startswith("spark")) if engine == "spark" else (lambda e: e == engine)
    v = [r["records_per_s"] for r in rows if same(r["engine"]) and r["workload"] == wl
         and all(r.get(k) == x for k, x in kw.items())]
    return statistics.median(v) if v else float("nan"), len(v)
for eng in ("spate", "spark"):
    off, n0 = med(eng, "w3-receiver", wal=False)
    on, n1 = med(eng, "w3-receiver", wal=True)
    print(f"{eng:6} w3-receiver  log off {off/1e6:6.3f} M/s ({n0})  on {on/1e6:6.3f} M/s ({n1})  on/off {on/off:5.2f}")
b, nb = med("spate-before", "w3")
a, na = med("spate", "w3")
if nb:
    print(f"spate  w3 queue 250 ms  before {b/1e6:6.3f} M/s ({nb})  after {a/1e6:6.3f} M/s ({na})  after/before {a/b:5.2f}")
PY
