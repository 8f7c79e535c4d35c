package dev.i2vgen.bench;

import dev.i2vgen.backend.jvm.kernels.Conv2dKernel;
import dev.i2vgen.graph.ops.Conv2d;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/** 3×3 convolution at 320 channels (UNet level 0), implicit im2col + SGEMM. GFLOP/s = 2·O·C·9·H·W / time. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class ConvBenchmark {
    @Param({"320"}) int channels;
    @Param({"32"}) int size;

    Arena arena;
    MemorySegment x, w, b, y;
    int[] xs, ws, os;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        xs = new int[]{1, channels, size, size};
        ws = new int[]{channels, channels, 3, 3};
        os = xs.clone();
        x = BenchData.random(arena, (long) channels * size * size, 4);
        w = BenchData.random(arena, (long) channels * channels * 9, 5);
        b = BenchData.random(arena, channels, 6);
        y = BenchData.zeros(arena, (long) channels * size * size);
    }

    @TearDown
    public void tearDown() { arena.close(); }

    @Benchmark
    public MemorySegment conv3x3() {
        Conv2dKernel.run(x, xs, w, ws, b, Conv2d.of(1, 1), y, os);
        return y;
    }
}
