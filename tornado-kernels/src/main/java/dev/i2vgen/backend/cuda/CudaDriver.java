package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.MemoryExhaustedException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.IntSupplier;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API ({@code libcuda.so.1}) through FFM: the primary context of one device, streams,
 * events, memory, PTX modules, kernel launches and stream capture into CUDA graphs. Every call's
 * result is checked; failures name the call and the driver's error.
 * <p>Stream capture and other threads: a capture runs in THREAD_LOCAL mode, which forbids unsafe calls on the
 * capturing thread only. Calls that synchronise (streams, events, and the implicit synchronisation of cuMemFree),
 * allocate, create or destroy streams, or load modules may still break another thread's capture on the same device
 * (CUDA invalidates it: a plan built on one thread while another captures a plan's graph, issue 17's plans built
 * ahead). Such calls therefore wait while a capture is open ({@link #captureGuard}: the capture holds it exclusively,
 * they hold it shared for the call alone); a capture waits for the ones in progress. None of them waits for another
 * host thread while holding it (only for device work already enqueued), so the wait is short and cannot deadlock.
 */
final class CudaDriver {
    static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    static final int CU_FUNC_ATTRIBUTE_NUM_REGS = 4;
    private static final int CU_STREAM_NON_BLOCKING = 1;
    private static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
    private static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    private static final int CU_EVENT_DISABLE_TIMING = 2;
    private static final int CU_MEMHOSTALLOC_PORTABLE = 1;
    private static final int CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED = 704;

    /** Exclusive from the start to the end of a stream capture; shared by the calls that could break one ({@link #guarded}). */
    private final ReentrantReadWriteLock captureGuard = new ReentrantReadWriteLock();
    private final NativeLibrary lib;
    private final MethodHandle cuInit, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName, cuDeviceGetAttribute,
            cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease, cuCtxSetCurrent, cuStreamCreate, cuStreamDestroy,
            cuStreamSynchronize, cuMemAlloc, cuMemFree, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemsetD32Async,
            cuModuleLoadData, cuModuleUnload, cuModuleGetFunction, cuFuncSetAttribute, cuFuncGetAttribute, cuLaunchKernel,
            cuEventCreate, cuEventDestroy, cuEventRecord, cuEventSynchronize, cuEventElapsedTime,
            cuStreamBeginCapture, cuStreamEndCapture, cuGraphInstantiate, cuGraphLaunch, cuGraphDestroy,
            cuGraphExecDestroy, cuGetErrorName, cuGetErrorString, cuDriverGetVersion,
            cuStreamWaitEvent, cuDeviceCanAccessPeer, cuCtxEnablePeerAccess, cuMemcpyPeerAsync, cuMemHostAlloc,
            cuMemFreeHost, cuCtxDestroy;
    /** cuCtxCreate_v2 (flags, device) or, where a driver has dropped it, cuCtxCreate_v4 (params, flags, device). */
    private final MethodHandle cuCtxCreateV2, cuCtxCreateV4;
    /** TMA descriptors (CUDA 12 drivers and newer); null where the driver has none. */
    private final MethodHandle cuTensorMapEncodeTiled;

    private CudaDriver(NativeLibrary lib) {
        this.lib = lib;
        FunctionDescriptor i = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
        cuInit = lib.function("cuInit", i);
        cuDriverGetVersion = lib.function("cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuDeviceGetCount = lib.function("cuDeviceGetCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuDeviceGet = lib.function("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceGetName = lib.function("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceGetAttribute = lib.function("cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDevicePrimaryCtxRetain = lib.function("cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDevicePrimaryCtxRelease = lib.function("cuDevicePrimaryCtxRelease_v2", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        cuCtxSetCurrent = lib.function("cuCtxSetCurrent", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuStreamCreate = lib.function("cuStreamCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuStreamDestroy = lib.function("cuStreamDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuStreamSynchronize = lib.function("cuStreamSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuMemAlloc = lib.function("cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        cuMemFree = lib.function("cuMemFree_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        cuMemcpyHtoDAsync = lib.function("cuMemcpyHtoDAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
        cuMemcpyDtoHAsync = lib.function("cuMemcpyDtoHAsync_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        cuMemsetD32Async = lib.function("cuMemsetD32Async", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS));
        cuModuleLoadData = lib.function("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuModuleUnload = lib.function("cuModuleUnload", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuModuleGetFunction = lib.function("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuFuncSetAttribute = lib.function("cuFuncSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuFuncGetAttribute = lib.function("cuFuncGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        cuLaunchKernel = lib.function("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuEventCreate = lib.function("cuEventCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuEventDestroy = lib.function("cuEventDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuEventRecord = lib.function("cuEventRecord", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuEventSynchronize = lib.function("cuEventSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        FunctionDescriptor elapsed = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        cuEventElapsedTime = lib.optionalFunction("cuEventElapsedTime_v2", elapsed).orElseGet(() -> lib.function("cuEventElapsedTime", elapsed));
        cuStreamBeginCapture = lib.function("cuStreamBeginCapture_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuStreamEndCapture = lib.function("cuStreamEndCapture", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuGraphInstantiate = lib.function("cuGraphInstantiateWithFlags", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        cuGraphLaunch = lib.function("cuGraphLaunch", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuGraphDestroy = lib.function("cuGraphDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuGraphExecDestroy = lib.function("cuGraphExecDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuGetErrorName = lib.function("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuGetErrorString = lib.function("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        // two devices (CFG-parallel): stream ordering across contexts, peer copies, pinned staging, contexts of our own
        cuStreamWaitEvent = lib.function("cuStreamWaitEvent", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        cuDeviceCanAccessPeer = lib.function("cuDeviceCanAccessPeer", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuCtxEnablePeerAccess = lib.function("cuCtxEnablePeerAccess", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuMemcpyPeerAsync = lib.function("cuMemcpyPeerAsync", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
        cuMemHostAlloc = lib.function("cuMemHostAlloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        cuMemFreeHost = lib.function("cuMemFreeHost", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuCtxDestroy = lib.function("cuCtxDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuCtxCreateV2 = lib.optionalFunction("cuCtxCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT)).orElse(null);
        cuCtxCreateV4 = cuCtxCreateV2 != null ? null
                : lib.function("cuCtxCreate_v4", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT));
        cuTensorMapEncodeTiled = lib.optionalFunction("cuTensorMapEncodeTiled", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT)).orElse(null);
    }

    /** Loads libcuda and initialises the driver; throws naming what is missing. */
    static CudaDriver load() {
        NativeLibrary lib = NativeLibrary.find("libcuda.so.1", "libcuda.so")
                .orElseThrow(() -> new CudaException("libcuda.so.1 (the NVIDIA driver) not found in " + NativeLibrary.searchDirectories()));
        CudaDriver d = new CudaDriver(lib);
        d.check(call(d.cuInit, 0), "cuInit");
        return d;
    }

    String libraryPath() { return lib.path().toString(); }

    // ---- error handling ----

    void check(int rc, String what) {
        if (rc != 0) throw new CudaException(what + " failed: " + errorText(rc));
    }

    String errorText(int rc) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            String name = call(cuGetErrorName, rc, p) == 0 ? cString(p) : "CUDA_ERROR_" + rc;
            String text = call(cuGetErrorString, rc, p) == 0 ? cString(p) : "";
            return name + " (" + rc + ")" + (text.isEmpty() ? "" : ": " + text);
        }
    }

    private static String cString(MemorySegment holder) {
        MemorySegment s = holder.get(ADDRESS, 0);
        return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(4096).getString(0);
    }

    static int call(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (Throwable t) {
            throw new CudaException("native call failed: " + t, t);
        }
    }

    /** {@code call}, not while another thread has a stream capture open (see the class comment); its status. */
    private int guarded(IntSupplier call) {
        var shared = captureGuard.readLock();
        shared.lock();
        try {
            return call.getAsInt();
        } finally {
            shared.unlock();
        }
    }

    // ---- device and context ----

    int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(JAVA_INT);
            check(call(cuDeviceGetCount, n), "cuDeviceGetCount");
            return n.get(JAVA_INT, 0);
        }
    }

    int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(JAVA_INT);
            check(call(cuDriverGetVersion, n), "cuDriverGetVersion");
            return n.get(JAVA_INT, 0);
        }
    }

    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(JAVA_INT);
            check(call(cuDeviceGet, d, ordinal), "cuDeviceGet(" + ordinal + ")");
            return d.get(JAVA_INT, 0);
        }
    }

    String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(256);
            check(call(cuDeviceGetName, s, 256, device), "cuDeviceGetName");
            return s.getString(0);
        }
    }

    int attribute(int device, int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check(call(cuDeviceGetAttribute, v, attribute, device), "cuDeviceGetAttribute(" + attribute + ")");
            return v.get(JAVA_INT, 0);
        }
    }

    MemorySegment retainPrimaryContext(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(ADDRESS);
            check(call(cuDevicePrimaryCtxRetain, c, device), "cuDevicePrimaryCtxRetain");
            return c.get(ADDRESS, 0);
        }
    }

    void releasePrimaryContext(int device) { check(call(cuDevicePrimaryCtxRelease, device), "cuDevicePrimaryCtxRelease"); }

    /**
     * A context of its own on {@code device} (not the primary context the device's other users share), current on the
     * calling thread afterwards: a second "device" on one GPU with its own memory space and streams, as a second GPU
     * would have. Destroy it with {@link #destroyContext}.
     */
    MemorySegment createContext(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(ADDRESS);
            int rc = cuCtxCreateV2 != null ? call(cuCtxCreateV2, c, 0, device) : call(cuCtxCreateV4, c, MemorySegment.NULL, 0, device);
            check(rc, "cuCtxCreate(device " + device + ")");
            return c.get(ADDRESS, 0);
        }
    }

    void destroyContext(MemorySegment context) { check(call(cuCtxDestroy, context), "cuCtxDestroy"); }

    /** Whether {@code device} can address the memory of {@code peer} directly (NVLink or PCIe peer to peer). */
    boolean canAccessPeer(int device, int peer) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check(call(cuDeviceCanAccessPeer, v, device, peer), "cuDeviceCanAccessPeer(" + device + ", " + peer + ")");
            return v.get(JAVA_INT, 0) != 0;
        }
    }

    /** Lets the current context address the memory of {@code peer} (once per pair: "already enabled" is no error). */
    void enablePeerAccess(MemorySegment peer) {
        int rc = call(cuCtxEnablePeerAccess, peer, 0);
        if (rc != CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED) check(rc, "cuCtxEnablePeerAccess");
    }

    /** Makes the context current on the calling thread (cheap; done at every public entry point). */
    void setCurrent(MemorySegment context) { check(call(cuCtxSetCurrent, context), "cuCtxSetCurrent"); }

    // ---- streams and events ----

    MemorySegment createStream() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(ADDRESS);
            check(guarded(() -> call(cuStreamCreate, s, CU_STREAM_NON_BLOCKING)), "cuStreamCreate");
            return s.get(ADDRESS, 0);
        }
    }

    void destroyStream(MemorySegment s) { check(guarded(() -> call(cuStreamDestroy, s)), "cuStreamDestroy"); }

    void synchronize(MemorySegment stream) { check(guarded(() -> call(cuStreamSynchronize, stream)), "cuStreamSynchronize"); }

    MemorySegment createEvent() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = a.allocate(ADDRESS);
            check(call(cuEventCreate, e, 0), "cuEventCreate");
            return e.get(ADDRESS, 0);
        }
    }

    /** An event for ordering only (no timing data: cheaper to record and wait on). */
    MemorySegment createOrderingEvent() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = a.allocate(ADDRESS);
            check(call(cuEventCreate, e, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
            return e.get(ADDRESS, 0);
        }
    }

    /** Work enqueued on {@code stream} after this call waits until {@code event}'s last record is done (any context); the host does not wait. */
    void streamWait(MemorySegment stream, MemorySegment event) {
        check(call(cuStreamWaitEvent, stream, event, 0), "cuStreamWaitEvent");
    }

    void destroyEvent(MemorySegment e) { check(call(cuEventDestroy, e), "cuEventDestroy"); }

    void record(MemorySegment event, MemorySegment stream) { check(call(cuEventRecord, event, stream), "cuEventRecord"); }

    /** Blocks the calling thread until the work before the event's last record is done (not later work of its stream). */
    void waitFor(MemorySegment event) { check(guarded(() -> call(cuEventSynchronize, event)), "cuEventSynchronize"); }

    /** Milliseconds between two recorded events (waits for the second). */
    float elapsedMillis(MemorySegment start, MemorySegment end) {
        waitFor(end);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ms = a.allocate(JAVA_FLOAT);
            check(call(cuEventElapsedTime, ms, start, end), "cuEventElapsedTime");
            return ms.get(JAVA_FLOAT, 0);
        }
    }

    // ---- memory ----

    long malloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_LONG);
            int rc = guarded(() -> call(cuMemAlloc, p, Math.max(bytes, 256)));
            if (rc == CUDA_ERROR_OUT_OF_MEMORY) throw MemoryExhaustedException.device(bytes, "cuMemAlloc: " + errorText(rc));
            if (rc != 0) throw new CudaException("cuMemAlloc of " + bytes + " bytes failed: " + errorText(rc));
            return p.get(JAVA_LONG, 0);
        }
    }

    void free(long ptr) { if (ptr != 0) check(guarded(() -> call(cuMemFree, ptr)), "cuMemFree"); }

    void copyToDevice(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        check(call(cuMemcpyHtoDAsync, dst, src, bytes, stream), "cuMemcpyHtoDAsync(" + bytes + " bytes)");
    }

    void copyToHost(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        check(call(cuMemcpyDtoHAsync, dst, src, bytes, stream), "cuMemcpyDtoHAsync(" + bytes + " bytes)");
    }

    /** Copies between the memory of two contexts (two devices, or two contexts of one), enqueued on {@code stream}. */
    void copyPeer(long dst, MemorySegment dstContext, long src, MemorySegment srcContext, long bytes, MemorySegment stream) {
        check(call(cuMemcpyPeerAsync, dst, dstContext, src, srcContext, bytes, stream), "cuMemcpyPeerAsync(" + bytes + " bytes)");
    }

    /** Page-locked host memory that every context may copy to and from asynchronously (CU_MEMHOSTALLOC_PORTABLE). */
    MemorySegment mallocHost(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            int rc = guarded(() -> call(cuMemHostAlloc, p, Math.max(bytes, 256), CU_MEMHOSTALLOC_PORTABLE));
            if (rc != 0) throw new CudaException("cuMemHostAlloc (page-locked host memory) of " + bytes + " bytes failed: " + errorText(rc));
            return p.get(ADDRESS, 0).reinterpret(bytes);
        }
    }

    void freeHost(MemorySegment p) { check(guarded(() -> call(cuMemFreeHost, p)), "cuMemFreeHost"); }

    /** Fills {@code words} 32-bit words with {@code pattern} (tests poison outputs with NaN this way). */
    void fill32(long dst, int pattern, long words, MemorySegment stream) {
        check(call(cuMemsetD32Async, dst, pattern, words, stream), "cuMemsetD32Async");
    }

    // ---- modules and launches ----

    /** A module from its image: a CUBIN, or PTX text ending in a NUL (which the driver then JIT-compiles). */
    MemorySegment loadModule(byte[] image) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(ADDRESS);
            MemorySegment data = a.allocate(image.length, 16);
            MemorySegment.copy(image, 0, data, ValueLayout.JAVA_BYTE, 0, image.length);
            check(guarded(() -> call(cuModuleLoadData, m, data)), "cuModuleLoadData");
            return m.get(ADDRESS, 0);
        }
    }

    void unloadModule(MemorySegment module) { check(guarded(() -> call(cuModuleUnload, module)), "cuModuleUnload"); }

    MemorySegment function(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(ADDRESS);
            check(call(cuModuleGetFunction, f, module, a.allocateFrom(name)), "cuModuleGetFunction(" + name + ")");
            return f.get(ADDRESS, 0);
        }
    }

    /**
     * Writes a tiled TMA tensor map (cuTensorMapEncodeTiled) into {@code map} (128 bytes, 64-byte aligned): element type
     * {@code dataType} (CUtensorMapDataType), {@code dims.length} dimensions innermost first, byte strides of all but the
     * first, a box of {@code box} elements per dimension read with element stride 1, no interleave, out-of-bounds
     * elements read as zeros.
     */
    void encodeTiledTensorMap(MemorySegment map, int dataType, long address, long[] dims, long[] strides, int[] box,
                              int swizzle, int l2Promotion) {
        if (cuTensorMapEncodeTiled == null)
            throw new CudaException("the driver has no cuTensorMapEncodeTiled (TMA tensor maps need a CUDA 12 or newer driver)");
        try (Arena a = Arena.ofConfined()) {
            int[] ones = new int[dims.length];
            java.util.Arrays.fill(ones, 1);
            int rc = call(cuTensorMapEncodeTiled, map, dataType, dims.length, MemorySegment.ofAddress(address), a.allocateFrom(JAVA_LONG, dims),
                    a.allocateFrom(JAVA_LONG, strides), a.allocateFrom(JAVA_INT, box), a.allocateFrom(JAVA_INT, ones), 0, swizzle, l2Promotion, 0);
            check(rc, "cuTensorMapEncodeTiled(dims " + java.util.Arrays.toString(dims) + ", byte strides " + java.util.Arrays.toString(strides)
                    + ", box " + java.util.Arrays.toString(box) + ", address 0x" + Long.toHexString(address) + ")");
        }
    }

    void setMaxDynamicSharedMemory(MemorySegment function, int bytes) {
        check(call(cuFuncSetAttribute, function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes), "cuFuncSetAttribute(max dynamic shared memory " + bytes + ")");
    }

    /** An attribute of a loaded kernel (CU_FUNC_ATTRIBUTE_*: its registers per thread, as the driver's JIT built it). */
    int functionAttribute(MemorySegment function, int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check(call(cuFuncGetAttribute, v, attribute, function), "cuFuncGetAttribute(" + attribute + ")");
            return v.get(JAVA_INT, 0);
        }
    }

    void launch(MemorySegment function, String name, int gx, int gy, int gz, int bx, int by, int bz,
                int sharedBytes, MemorySegment stream, MemorySegment params) {
        int rc;
        try {   // exact types: no boxing or argument spreading on the per-launch path
            rc = (int) cuLaunchKernel.invokeExact(function, gx, gy, gz, bx, by, bz, sharedBytes, stream, params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new CudaException("native call cuLaunchKernel failed: " + t, t);
        }
        if (rc != 0) throw new CudaException("cuLaunchKernel(" + name + ", grid " + gx + "x" + gy + "x" + gz
                + ", block " + bx + ", shared " + sharedBytes + ") failed: " + errorText(rc));
    }

    // ---- TMA descriptors ----

    /** Whether the driver encodes TMA descriptors (cuTensorMapEncodeTiled, CUDA 12 and newer). */
    boolean hasTensorMaps() { return cuTensorMapEncodeTiled != null; }

    /**
     * A TMA descriptor (CUtensorMap: 128 bytes, 64-byte aligned, in {@code arena}) for the 2-D tile loads of
     * {@code map}: 16-bit elements, the boxes written to shared memory with the 128-byte swizzle, rows past the tensor
     * read as zeros, L2 filled in 256-byte requests ({@link #encodeTiledTensorMap}). Kernels take it by value
     * ({@code __grid_constant__}).
     */
    MemorySegment tensorMap(Arena arena, TensorMap2d map) {
        MemorySegment descriptor = arena.allocate(TensorMap2d.DESCRIPTOR_BYTES, 64);
        encodeTiledTensorMap(descriptor, map.dataType(), map.address(), new long[]{map.cols(), map.rows()}, new long[]{map.rowBytes()},
                new int[]{map.boxCols(), map.boxRows()}, TensorMap2d.SWIZZLE_128B, TensorMap2d.L2_PROMOTION_256B);
        return descriptor;
    }

    // ---- CUDA graphs ----

    /**
     * Starts capturing {@code stream} (THREAD_LOCAL mode); until {@link #endCaptureAndInstantiate} or {@link
     * #abandonCapture} on this thread, other threads' calls that could break the capture wait ({@link #guarded}).
     */
    void beginCapture(MemorySegment stream) {
        captureGuard.writeLock().lock();
        try {
            check(call(cuStreamBeginCapture, stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
        } catch (RuntimeException e) {
            captureGuard.writeLock().unlock();
            throw e;
        }
    }

    /** Ends the capture and instantiates it; returns {graph, graphExec}. */
    MemorySegment[] endCaptureAndInstantiate(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment g = a.allocate(ADDRESS), e = a.allocate(ADDRESS);
            try {
                check(call(cuStreamEndCapture, stream, g), "cuStreamEndCapture");
            } finally {
                captureGuard.writeLock().unlock();
            }
            MemorySegment graph = g.get(ADDRESS, 0);
            check(call(cuGraphInstantiate, e, graph, 0L), "cuGraphInstantiate");
            return new MemorySegment[]{graph, e.get(ADDRESS, 0)};
        }
    }

    /** Ends a capture that failed part-way, discarding what it recorded, so that the stream runs work again. */
    void abandonCapture(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment g = a.allocate(ADDRESS);
            if (call(cuStreamEndCapture, stream, g) == 0 && !g.get(ADDRESS, 0).equals(MemorySegment.NULL)) {
                call(cuGraphDestroy, g.get(ADDRESS, 0));
            }
        } finally {
            captureGuard.writeLock().unlock();
        }
    }

    void launchGraph(MemorySegment exec, MemorySegment stream) { check(call(cuGraphLaunch, exec, stream), "cuGraphLaunch"); }

    void destroyGraph(MemorySegment graph, MemorySegment exec) {
        check(call(cuGraphExecDestroy, exec), "cuGraphExecDestroy");
        check(call(cuGraphDestroy, graph), "cuGraphDestroy");
    }

    static final ValueLayout.OfLong POINTER = JAVA_LONG;
}
