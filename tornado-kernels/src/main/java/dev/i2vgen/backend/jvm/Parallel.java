package dev.i2vgen.backend.jvm;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Parallel loops over an index range on the shared ForkJoin common pool (the calling thread helps).
 * Kernels split their outermost independent dimension; nested calls are safe (work stealing).
 */
public final class Parallel {
    private Parallel() {}

    /** Body of a parallel loop: handles indices [from, to). */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /** -Di2vgen.threads=1 runs every kernel on the calling thread (profiling, per-core speed). */
    private static final boolean SERIAL = "1".equals(System.getProperty("i2vgen.threads"));

    /** Body of a parallel loop over a long index range: handles indices [from, to). */
    @FunctionalInterface
    public interface LongRange {
        void run(long from, long to);
    }

    /**
     * Worker count: the common pool's parallelism plus the caller (size it with
     * -Djava.util.concurrent.ForkJoinPool.common.parallelism=N), or 1 with -Di2vgen.threads=1.
     */
    public static int threads() {
        return SERIAL ? 1 : Math.max(1, ForkJoinPool.getCommonPoolParallelism() + 1);
    }

    /**
     * Runs {@code body} over [0, n) in chunks of at least {@code grain} indices, about four chunks per
     * worker so that uneven chunks balance out.
     */
    public static void forRange(int n, int grain, Range body) {
        if (n <= 0) return;
        int chunks = (int) Math.min((n + (long) Math.max(grain, 1) - 1) / Math.max(grain, 1), threads() * 4L);
        if (chunks <= 1 || threads() == 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int from = (int) ((long) n * c / chunks), to = (int) ((long) n * (c + 1) / chunks);
            if (from < to) body.run(from, to);
        });
    }

    /** {@link #forRange(int, int, Range)} for flat element ranges that may exceed 2³¹ (video-sized activations). */
    public static void forLongRange(long n, long grain, LongRange body) {
        if (n <= 0) return;
        long g = Math.max(grain, 1);
        int chunks = (int) Math.min((n + g - 1) / g, threads() * 4L);
        if (chunks <= 1 || threads() == 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> {
            long base = n / chunks, extra = n % chunks;   // the first 'extra' chunks take one more index
            long from = c * base + Math.min(c, extra), to = from + base + (c < extra ? 1 : 0);
            if (from < to) body.run(from, to);
        });
    }
}
