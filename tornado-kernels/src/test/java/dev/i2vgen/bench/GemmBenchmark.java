package dev.i2vgen.bench;

import dev.i2vgen.backend.jvm.kernels.LinearKernel;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * SGEMM through the Linear kernel at UNet shapes (K and N of the model, M cut down from 14,080 tokens
 * for small machines). GFLOP/s = 2·M·K·N / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class GemmBenchmark {
    @Param({"1024"}) int m;
    @Param({"320"}) int k;
    @Param({"2880"}) int n;

    Arena arena;
    MemorySegment x, w, b, y;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        x = BenchData.random(arena, (long) m * k, 1);
        w = BenchData.random(arena, (long) n * k, 2);
        b = BenchData.random(arena, n, 3);
        y = BenchData.zeros(arena, (long) m * n);
    }

    @TearDown
    public void tearDown() { arena.close(); }

    @Benchmark
    public MemorySegment linear() {
        LinearKernel.run(x, m, k, w, n, b, y);
        return y;
    }
}
