package dev.i2vgen.tensor;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Host allocations that cannot be made are a MemoryExhaustedException naming what and how much, not an OutOfMemoryError. */
class HostMemoryTest {

    @Test
    void aTensorBeyondTheHostLimitIsNamedWithItsSize() {
        // 4 TiB: beyond the direct-memory limit (the max heap by default) of any test JVM
        MemoryExhaustedException e = assertThrows(MemoryExhaustedException.class, () -> Tensor.allocate(DType.F32, 1 << 20, 1 << 20));
        assertEquals(MemoryExhaustedException.Memory.HOST, e.memory());
        assertEquals(4L << 40, e.bytes());
        assertTrue(e.getMessage().startsWith("out of host memory allocating 4.0 TiB for a tensor F32[1048576, 1048576]"), e.getMessage());
        assertTrue(e.getMessage().contains("max heap"), e.getMessage());
    }

    @Test
    void aJvmPlanWhoseIntermediatesDoNotFitNamesItsGraph() {
        TaskGraph g = new TaskGraph("huge", DType.F32);
        Value x = g.input("x", DType.F32, 1 << 16, 1 << 16);
        g.output("y", g.add(g.silu(x), x));
        try (Backend jvm = Backends.create("jvm")) {
            MemoryExhaustedException e = assertThrows(MemoryExhaustedException.class, () -> jvm.compile(g.freeze()).close());
            assertTrue(e.getMessage().contains("for the intermediate buffers of graph 'huge'"), e.getMessage());
        }
    }

    @Test
    void aFloatCopyLargerThanAnyJavaArrayIsRefusedWithItsShape() {
        Tensor big = Tensor.wrap(java.lang.foreign.MemorySegment.NULL.reinterpret(1L << 34), DType.F32, 1 << 16, 1 << 16);
        IllegalStateException e = assertThrows(IllegalStateException.class, big::toFloatArray);
        assertTrue(e.getMessage().contains("F32[65536, 65536] has 4294967296 elements"), e.getMessage());
    }

    @Test
    void byteCountsReadInBinaryUnits() {
        assertEquals("512 B", MemoryExhaustedException.bytes(512));
        assertEquals("1.5 KiB", MemoryExhaustedException.bytes(1536));
        assertEquals("12.3 GiB", MemoryExhaustedException.bytes((long) (12.3 * (1L << 30))));
    }

    @Test
    void theSubjectIsAddedOnceByTheLayerThatKnowsIt() {
        MemoryExhaustedException e = MemoryExhaustedException.device(1L << 30, "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY")
                .allocating("the intermediate buffers of graph 'unet'").allocating("something outer");
        assertEquals("out of device memory allocating 1.0 GiB for the intermediate buffers of graph 'unet'"
                + " (cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY)", e.getMessage());
    }
}
