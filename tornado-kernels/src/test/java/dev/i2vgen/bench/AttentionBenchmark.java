package dev.i2vgen.bench;

import dev.i2vgen.backend.jvm.kernels.AttentionKernel;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/** Flash-style self-attention at 4096 tokens (UNet level 0 at 512×512: 5 heads × 64). GFLOP/s = 4·L²·H·D / time. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 3, time = 3)
public class AttentionBenchmark {
    @Param({"4096"}) int tokens;
    @Param({"5"}) int heads;
    @Param({"64"}) int headDim;

    Arena arena;
    MemorySegment q, k, v, o;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        long n = (long) tokens * heads * headDim;
        q = BenchData.random(arena, n, 7);
        k = BenchData.random(arena, n, 8);
        v = BenchData.random(arena, n, 9);
        o = BenchData.zeros(arena, n);
    }

    @TearDown
    public void tearDown() { arena.close(); }

    @Benchmark
    public MemorySegment selfAttention() {
        AttentionKernel.run(q, k, v, 1, tokens, tokens, heads, headDim, headDim, (float) (1 / Math.sqrt(headDim)), false, o);
        return o;
    }
}
