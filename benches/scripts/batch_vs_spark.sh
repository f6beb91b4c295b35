#!/usr/bin/env bash
# Batch word count, spate against Apache Spark, alternately in one sitting.
#
#   benches/scripts/batch_vs_spark.sh [rounds]
#
# Needs the Spark baseline of ../shared/bench/spark set up (pyspark venv, data, build; see
# its README). Each round runs spate's `batch_word_count` (5 runs over the 2,000,000-line
# file) and one Spark W1 run (20 batches of the same 2,000,000 lines); Spark's comparable
# figure is its per-batch processing time (`proc_ms_p50`). JSON lines go to
# $OUT (default /tmp/batch_vs_spark.jsonl); a summary is printed at the end.
set -euo pipefail
rounds=${1:-3}
here="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$here/../shared/bench"
data=${BENCH_DATA:-/opt/spark-bench/data}/words_2m.txt
out=${OUT:-/tmp/batch_vs_spark.jsonl}
: > "$out"
cargo build --release -q -p spate-benches --manifest-path "$here/Cargo.toml"
for r in $(seq 1 "$rounds"); do
  "$here/target/release/batch_word_count" --input "$data" --runs 5 | tee -a "$out"
  (cd "$bench/spark" && QUIET_WAIT_S=${QUIET_WAIT_S:-60} ./run.sh w1 --lines-per-batch 2000000 --repeat 20 --run "$r") | tee -a "$out"
done
python3 - "$out" <<'PY'
import json, statistics, sys
spate, spark, srss, prss = [], [], [], []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    if d.get("engine") == "spate":
        spate.append(d["seconds"]); prss.append(d["peak_rss_mb"])
    elif d.get("workload") == "w1":
        spark.append(d["proc_ms_p50"] / 1000.0); srss.append(d["peak_rss_mb"])
s, k = statistics.median(spate), statistics.median(spark)
print(json.dumps({"spate_batch_s_median": s, "spark_batch_s_median": k, "ratio": k / s,
                  "spate_lines_per_s": 2e6 / s, "spark_lines_per_s": 2e6 / k,
                  "spate_peak_rss_mb_max": max(prss), "spark_peak_rss_mb_median": statistics.median(srss),
                  "spate_runs": len(spate), "spark_runs": len(spark)}))
PY
