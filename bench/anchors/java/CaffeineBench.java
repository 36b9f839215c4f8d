// SPDX-License-Identifier: MIT
// CaffeineBench: the Caffeine anchor of bench/cache (Debian's
// libcaffeine-java, built with javac against /usr/share/java/caffeine.jar).
// It prints "RESULT <case> <value> [<value>]" lines as the Go anchor does.
//
//   trace <name> <file.gz> <arc|lirs> <cap>...
//       hit ratio of Caffeine.maximumSize(cap) replaying the trace (get,
//       then put on a miss), maintenance in-line (executor(Runnable::run)),
//       one RESULT trace_<name>_<cap> line per capacity
//   get_hit_1t <keys> <ops> <reps> [case]
//       best ns per getIfPresent hit (32-byte value copied out), one
//       thread, Zipf(1.01) drawn as bench_cache.c draws it
//   zipf_mixed_2t <keys> <ops> <reps>
//       best ops/s of 2 threads, 90% get / 10% put, then ops per process
//       CPU second x 2
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.CyclicBarrier;
import java.util.zip.GZIPInputStream;

public final class CaffeineBench {
    static final int VALUE_LEN = 32;

    static long[] load(String path, boolean arc) throws Exception {
        long[] keys = new long[1 << 20];
        int n = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                 new GZIPInputStream(new FileInputStream(path), 1 << 16)))) {
            String line;
            while ((line = r.readLine()) != null) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 0 || f[0].isEmpty())
                    continue;
                long start, count = 1;
                try {
                    start = Long.parseUnsignedLong(f[0]);
                    if (arc) {
                        if (f.length < 2)
                            continue;
                        count = Long.parseLong(f[1]);
                    }
                } catch (NumberFormatException e) {
                    continue;
                }
                for (long k = 0; k < count; k++) {
                    if (n == keys.length)
                        keys = Arrays.copyOf(keys, n * 2);
                    keys[n++] = start + k;
                }
            }
        }
        return Arrays.copyOf(keys, n);
    }

    static void trace(String[] a) throws Exception {
        String name = a[1];
        long[] keys = load(a[2], a[3].equals("arc"));
        Object value = new Object();
        for (int i = 4; i < a.length; i++) {
            long cap = Long.parseLong(a[i]);
            Cache<Long, Object> c = Caffeine.newBuilder()
                                        .maximumSize(cap)
                                        .executor(Runnable::run)
                                        .build();
            long hits = 0;
            for (long k : keys) {
                Long key = k;
                if (c.getIfPresent(key) != null)
                    hits++;
                else
                    c.put(key, value);
            }
            System.out.printf("RESULT trace_%s_%d %.6f%n", name, cap,
                              keys.length == 0 ? 0.0 : (double)hits / keys.length);
        }
    }

    // The same generator and Zipf inversion as bench_cache.c.
    static long rng;
    static long rngNext() {
        long z = (rng += 0x9e3779b97f4a7c15L);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    static int[] zipfSeq(double[] cdf, int n, long seed) {
        rng = seed;
        int[] seq = new int[n];
        for (int i = 0; i < n; i++) {
            double u = (double)(rngNext() >>> 11) * (1.0 / 9007199254740992.0);
            int lo = 0, hi = cdf.length - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cdf[mid] < u)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            seq[i] = lo;
        }
        return seq;
    }

    static double[] zipfCdf(int n, double s) {
        double[] cdf = new double[n];
        double sum = 0;
        for (int k = 0; k < n; k++)
            cdf[k] = (sum += Math.pow(k + 1, -s));
        for (int k = 0; k < n; k++)
            cdf[k] /= sum;
        return cdf;
    }

    static String[] makeKeys(int n) {
        String[] keys = new String[n];
        for (int i = 0; i < n; i++)
            keys[i] = "key:" + i;
        return keys;
    }

    static Cache<String, byte[]> filled(String[] keys) {
        Cache<String, byte[]> c = Caffeine.newBuilder()
                                      .maximumSize(keys.length + 1024)
                                      .executor(Runnable::run)
                                      .build();
        for (String k : keys)
            c.put(k, new byte[VALUE_LEN]);
        return c;
    }

    static void getHit(String name, int nkeys, int ops, int reps) {
        String[] keys = makeKeys(nkeys);
        Cache<String, byte[]> c = filled(keys);
        int[] seq = zipfSeq(zipfCdf(nkeys, 1.01), ops, 42);
        byte[] out = new byte[VALUE_LEN];
        long misses = 0;
        double best = Double.POSITIVE_INFINITY;
        // One extra, untimed run lets the JIT compile the loop.
        for (int r = -1; r < reps; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < ops; i++) {
                byte[] v = c.getIfPresent(keys[seq[i]]);
                if (v == null)
                    misses++;
                else
                    System.arraycopy(v, 0, out, 0, v.length);
            }
            double ns = (double)(System.nanoTime() - t0) / ops;
            if (r >= 0)
                best = Math.min(best, ns);
        }
        if (misses > 0)
            System.err.println(name + ": " + misses + " misses");
        System.out.printf("RESULT %s %.3f%n", name, best);
    }

    static double cpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean)
                    ManagementFactory.getOperatingSystemMXBean())
                   .getProcessCpuTime() / 1e9;
    }

    static void mixed(int nkeys, int ops, int reps) throws Exception {
        String[] keys = makeKeys(nkeys);
        Cache<String, byte[]> c = filled(keys);
        double[] cdf = zipfCdf(nkeys, 1.01);
        int[][] seqs = {zipfSeq(cdf, ops, 7), zipfSeq(cdf, ops, 8)};
        double best = 0, bestCpu = 0;
        for (int r = -1; r < reps; r++) {
            CyclicBarrier start = new CyclicBarrier(3);
            Thread[] th = new Thread[2];
            for (int t = 0; t < 2; t++) {
                int[] seq = seqs[t];
                th[t] = new Thread(() -> {
                    byte[] value = new byte[VALUE_LEN];
                    byte[] out = new byte[VALUE_LEN];
                    try {
                        start.await();
                    } catch (Exception e) {
                        return;
                    }
                    for (int i = 0; i < seq.length; i++) {
                        String k = keys[seq[i]];
                        if (i % 10 == 0) {
                            c.put(k, value.clone());
                        } else {
                            byte[] v = c.getIfPresent(k);
                            if (v != null)
                                System.arraycopy(v, 0, out, 0, v.length);
                        }
                    }
                });
                th[t].start();
            }
            start.await();
            long t0 = System.nanoTime();
            double c0 = cpuSeconds();
            for (Thread t : th)
                t.join();
            double wall = (System.nanoTime() - t0) / 1e9;
            double cpu = cpuSeconds() - c0;
            if (r >= 0) {
                best = Math.max(best, 2.0 * ops / wall);
                bestCpu = Math.max(bestCpu, 2.0 * 2.0 * ops / cpu);
            }
        }
        System.out.printf("RESULT zipf_mixed_2t %.1f %.1f%n", best, bestCpu);
    }

    public static void main(String[] a) throws Exception {
        switch (a.length > 0 ? a[0] : "") {
        case "trace":
            trace(a);
            break;
        case "get_hit_1t":
            getHit(a.length > 4 ? a[4] : "get_hit_1t", Integer.parseInt(a[1]),
                   Integer.parseInt(a[2]), Integer.parseInt(a[3]));
            break;
        case "zipf_mixed_2t":
            mixed(Integer.parseInt(a[1]), Integer.parseInt(a[2]),
                  Integer.parseInt(a[3]));
            break;
        default:
            System.err.println("usage: CaffeineBench trace|get_hit_1t|zipf_mixed_2t ...");
            System.exit(2);
        }
    }
}
