package dev.i2vgen.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Device memory in use on a {@link CudaBackend}'s GPU ({@code cuMemGetInfo}: total − free), for benchmarks
 * that report peak memory. It counts everything on the device (our context, weights, plan arenas, cuBLASLt
 * workspace, and other processes), so callers subtract a baseline taken when they start. Safe to call from
 * any thread: it makes the backend's primary context current on the calling thread first.
 */
public final class CudaMemoryInfo {
    private final CudaBackend backend;
    private final MethodHandle cuMemGetInfo, cuCtxSetCurrent;

    public CudaMemoryInfo(CudaBackend backend) {
        this.backend = backend;
        // Bound here rather than in CudaDriver: an optional query kept out of the driver binding the kernels use.
        NativeLibrary lib = NativeLibrary.find("libcuda.so.1", "libcuda.so")
                .orElseThrow(() -> new CudaException("libcuda.so.1 not found in " + NativeLibrary.searchDirectories()));
        cuMemGetInfo = lib.function("cuMemGetInfo_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuCtxSetCurrent = lib.function("cuCtxSetCurrent", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    /** Bytes of device memory in use now (whole device). */
    public long usedBytes() {
        backend.driver.check(CudaDriver.call(cuCtxSetCurrent, backend.context), "cuCtxSetCurrent");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG), total = a.allocate(JAVA_LONG);
            backend.driver.check(CudaDriver.call(cuMemGetInfo, free, total), "cuMemGetInfo");
            return total.get(JAVA_LONG, 0) - free.get(JAVA_LONG, 0);
        }
    }
}
