package dev.i2vgen.bench;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;
import dev.i2vgen.backend.jvm.kernels.AttentionKernel;
import dev.i2vgen.backend.jvm.kernels.Conv2dKernel;
import dev.i2vgen.backend.jvm.kernels.GroupNormKernel;
import dev.i2vgen.backend.jvm.kernels.LinearKernel;
import dev.i2vgen.backend.jvm.kernels.TemporalConvKernel;
import dev.i2vgen.graph.ops.Conv2d;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A quick table of the JVM kernels' speed at I2VGen-XL shapes (token counts cut down for small
 * machines, channel widths kept). Run: see the tornado-kernels pom ("bench" profile).
 * Peak is estimated as cores × vector lanes × 2 flops per FMA × FMA pipes × clock.
 */
public final class KernelBench {
    private KernelBench() {}

    interface Body { void run(); }

    record Row(String name, double flops, double seconds) {}

    public static void main(String[] args) {
        double ghz = System.getProperty("bench.ghz") != null ? Double.parseDouble(System.getProperty("bench.ghz")) : nominalGhz();
        int fmaPipes = Integer.parseInt(System.getProperty("bench.fmaPipes", "2"));
        int scale = Integer.parseInt(System.getProperty("bench.scale", "1"));
        int cores = Parallel.threads();
        double peak = cores * F32.LANES * 2.0 * fmaPipes * ghz * 1e9;
        System.out.printf(Locale.ROOT, "JVM kernels: %d threads, %d float lanes; assumed peak = %d cores x %d lanes x 2 (FMA) x %d FMA pipes x %.2f GHz = %.1f GFLOP/s%n",
                cores, F32.LANES, cores, F32.LANES, fmaPipes, ghz, peak / 1e9);
        System.out.println("(clock: -Dbench.ghz, else the nominal 'cpu MHz' of /proc/cpuinfo; turbo clocks can push a kernel past 100%)");
        List<Row> rows = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            int m = 1024 * scale;
            rows.add(linear(arena, m, 320, 2880));
            rows.add(linear(arena, m, 1280, 1280));
            rows.add(linear(arena, 77, 1024, 1024));
            rows.add(conv(arena, 320, 320, 32, 32, 3));
            rows.add(conv(arena, 4, 320, 32, 32, 3));
            rows.add(conv(arena, 320, 320, 32, 32, 1));
            rows.add(temporal(arena, 320, 16, 8, 8));
            rows.add(attention(arena, 1024 * scale, 1024 * scale, 5, 64, "self-attn"));
            rows.add(attention(arena, 4096, 77, 5, 64, "cross-attn"));
            rows.add(attention(arena, 1024 * scale, 1024 * scale, 1, 512, "VAE mid-attn"));
            rows.add(groupNorm(arena, 320, 4096, 32));
        }
        System.out.printf(Locale.ROOT, "%-58s %10s %10s %8s%n", "kernel", "ms", "GFLOP/s", "of peak");
        for (Row r : rows) {
            double gf = r.flops / r.seconds / 1e9;
            System.out.printf(Locale.ROOT, "%-58s %10.2f %10.2f %7.1f%%%n", r.name, r.seconds * 1e3, gf, 100 * r.flops / r.seconds / peak);
        }
    }

    /** The nominal clock from /proc/cpuinfo (Linux), else 2.5 GHz. */
    static double nominalGhz() {
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("cpu MHz")).findFirst()
                    .map(l -> Double.parseDouble(l.substring(l.indexOf(':') + 1).trim()) / 1000).orElse(2.5);
        } catch (java.io.IOException | RuntimeException e) {
            return 2.5;
        }
    }

    /** Best of several timed runs after warm-up (the JIT and the caches settle first). */
    static double time(Body body) {
        for (int i = 0; i < 3; i++) body.run();
        double best = Double.MAX_VALUE;
        long deadline = System.nanoTime() + 2_000_000_000L;
        for (int i = 0; i < 10 && (i < 3 || System.nanoTime() < deadline); i++) {
            long t0 = System.nanoTime();
            body.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }

    static Row linear(Arena a, int m, int k, int n) {
        MemorySegment x = BenchData.random(a, (long) m * k, 1), w = BenchData.random(a, (long) n * k, 2), b = BenchData.random(a, n, 3);
        MemorySegment y = BenchData.zeros(a, (long) m * n);
        return new Row(String.format("linear   M=%d K=%d N=%d", m, k, n), 2.0 * m * k * n, time(() -> LinearKernel.run(x, m, k, w, n, b, y)));
    }

    static Row conv(Arena a, int o, int c, int h, int w, int k) {
        int[] xs = {1, c, h, w}, ws = {o, c, k, k}, os = {1, o, h, w};
        MemorySegment x = BenchData.random(a, (long) c * h * w, 4), wt = BenchData.random(a, (long) o * c * k * k, 5), b = BenchData.random(a, o, 6);
        MemorySegment y = BenchData.zeros(a, (long) o * h * w);
        Conv2d p = Conv2d.of(1, k / 2);
        return new Row(String.format("conv2d   %dx%d %d->%d ch at %dx%d", k, k, c, o, h, w), 2.0 * o * c * k * k * h * w,
                time(() -> Conv2dKernel.run(x, xs, wt, ws, b, p, y, os)));
    }

    static Row temporal(Arena a, int c, int f, int h, int w) {
        int[] xs = {1, c, f, h, w}, ws = {c, c, 3, 1, 1};
        MemorySegment x = BenchData.random(a, (long) c * f * h * w, 7), wt = BenchData.random(a, (long) c * c * 3, 8), b = BenchData.random(a, c, 9);
        MemorySegment y = BenchData.zeros(a, (long) c * f * h * w);
        return new Row(String.format("temporal k=3 %d ch, %d frames of %dx%d", c, f, h, w), 2.0 * c * c * 3 * f * h * w,
                time(() -> TemporalConvKernel.run(x, xs, wt, ws, b, y)));
    }

    static Row attention(Arena a, int lq, int lk, int heads, int d, String what) {
        MemorySegment q = BenchData.random(a, (long) lq * heads * d, 10), k = BenchData.random(a, (long) lk * heads * d, 11),
                v = BenchData.random(a, (long) lk * heads * d, 12), o = BenchData.zeros(a, (long) lq * heads * d);
        float scale = (float) (1 / Math.sqrt(d));
        return new Row(String.format("attention %s Lq=%d Lk=%d %dx%d", what, lq, lk, heads, d), 4.0 * lq * lk * heads * d,
                time(() -> AttentionKernel.run(q, k, v, 1, lq, lk, heads, d, d, scale, false, o)));
    }

    static Row groupNorm(Arena a, int c, int spatial, int groups) {
        MemorySegment x = BenchData.random(a, (long) c * spatial, 13), g = BenchData.random(a, c, 14), b = BenchData.random(a, c, 15);
        MemorySegment y = BenchData.zeros(a, (long) c * spatial);
        // ~8 flops per element (2 statistics passes + normalise + SiLU), reported for orientation only
        return new Row(String.format("groupnorm+silu %d ch x %d", c, spatial), 8.0 * c * spatial,
                time(() -> GroupNormKernel.run(x, new int[]{1, c, spatial}, g, b, groups, 1e-6f, true, y)));
    }
}
