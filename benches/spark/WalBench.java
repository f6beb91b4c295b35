package spatebench;

import java.io.BufferedReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.receiver.Receiver;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * W3 (running word counts with updateStateByKey, state checkpointed every 10 batches) over a
 * receiver instead of a queue, with and without the receiver write-ahead log: the Spark side
 * of spate's `stream_bench --workload w3 --source receiver --wal true|false`. The receiver
 * stores the input, `repeat` times over, in blocks of `block-lines` lines with
 * `store(Iterator)`, as fast as Spark takes them (with the log, each block is in the log
 * before `store` returns). One JSON line per run, the fields of `../shared/bench`'s.
 */
public final class WalBench {
    static final class ChunkReceiver extends Receiver<String> {
        final String input;
        final int repeat;
        final int blockLines;

        ChunkReceiver(String input, int repeat, int blockLines) {
            super(StorageLevel.MEMORY_AND_DISK_SER());
            this.input = input;
            this.repeat = repeat;
            this.blockLines = blockLines;
        }

        @Override
        public void onStart() {
            Thread t = new Thread(this::feed, "chunk-receiver");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void onStop() {}

        void feed() {
            try {
                for (int r = 0; r < repeat && !isStopped(); r++) {
                    try (BufferedReader br = Files.newBufferedReader(Paths.get(input))) {
                        List<String> block = new ArrayList<>(blockLines);
                        String l;
                        while ((l = br.readLine()) != null) {
                            block.add(l);
                            if (block.size() == blockLines) {
                                store(block.iterator());
                                block = new ArrayList<>(blockLines);
                            }
                        }
                        if (!block.isEmpty()) store(block.iterator());
                    }
                }
            } catch (Exception e) {
                restart("reading the input failed", e);
            }
        }
    }

    static volatile long doneMs = 0;
    static final CountDownLatch DONE = new CountDownLatch(1);

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        String input = o.getOrDefault("input", "/opt/spark-bench/data/words_2m.txt");
        int repeat = Integer.parseInt(o.getOrDefault("repeat", "5"));
        int blockLines = Integer.parseInt(o.getOrDefault("block-lines", "50000"));
        long batchMs = Long.parseLong(o.getOrDefault("batch-ms", "1000"));
        boolean wal = o.getOrDefault("wal", "false").equals("true");
        String work = o.getOrDefault("work-dir", "/tmp/spark-wal-bench");
        String run = o.getOrDefault("run", "0");
        long linesPerPass;
        try (var s = Files.lines(Paths.get(input))) {
            linesPerPass = s.count();
        }
        long total = linesPerPass * repeat;
        Path ck = Paths.get(work, "checkpoint-" + System.nanoTime());
        Files.createDirectories(ck);

        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("walbench")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.local.dir", work + "/local")
                .set("spark.default.parallelism", "2")
                .set("spark.streaming.receiver.writeAheadLog.enable", Boolean.toString(wal));
        JavaSparkContext jsc = new JavaSparkContext(conf);
        jsc.setLogLevel("WARN");
        JavaStreamingContext ssc = new JavaStreamingContext(jsc, Durations.milliseconds(batchMs));
        ssc.checkpoint(ck.toString());
        LongAccumulator lines = jsc.sc().longAccumulator("lines");
        JavaPairDStream<String, Long> counts = ssc
                .receiverStream(new ChunkReceiver(input, repeat, blockLines))
                .flatMap(l -> {
                    lines.add(1);
                    return Arrays.asList(l.split(" ")).iterator();
                })
                .mapToPair(w -> new Tuple2<>(w, 1L))
                .reduceByKey(Long::sum)
                .updateStateByKey((List<Long> vals, org.apache.spark.api.java.Optional<Long> s) -> {
                    long sum = s.isPresent() ? s.get() : 0L;
                    for (long v : vals) sum += v;
                    return org.apache.spark.api.java.Optional.of(sum);
                });
        counts.checkpoint(Durations.milliseconds(10 * batchMs));
        counts.foreachRDD((rdd, t) -> {
            long sum = rdd.values().fold(0L, Long::sum);
            if (lines.value() >= total && sum == total * 10 && doneMs == 0) {
                doneMs = System.currentTimeMillis();
                DONE.countDown();
            }
        });
        long start = System.currentTimeMillis();
        ssc.start();
        boolean ok = DONE.await(600, TimeUnit.SECONDS);
        ssc.stop(true, false);
        double seconds = (doneMs - start) / 1000.0;
        long rssKb = 0;
        for (String l : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (l.startsWith("VmHWM:")) rssKb = Long.parseLong(l.replaceAll("[^0-9]", ""));
        }
        System.out.println(String.format(Locale.ROOT,
                "{\"workload\":\"w3-receiver\",\"engine\":\"spark-%s-dstream\",\"run\":\"%s\",\"ok\":%b,"
                        + "\"records\":%d,\"seconds\":%.3f,\"records_per_s\":%.1f,\"peak_rss_mb\":%.1f,"
                        + "\"wal\":%b,\"batch_ms\":%d,\"repeat\":%d,\"block_lines\":%d}",
                jsc.version(), run, ok, lines.value(), seconds, lines.value() / seconds, rssKb / 1024.0,
                wal, batchMs, repeat, blockLines));
        System.exit(0);
    }
}
