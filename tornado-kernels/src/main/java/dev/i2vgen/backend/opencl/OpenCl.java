package dev.i2vgen.backend.opencl;

import dev.i2vgen.tensor.MemoryExhaustedException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The OpenCL 1.2 C API through {@code java.lang.foreign}, from the ICD loader {@code libOpenCL.so.1} (which
 * dispatches to whatever drivers are installed: NVIDIA, AMD, Intel, PoCL). Only the calls the backend uses;
 * every failing call throws an {@link OpenClException} naming the call and the error code.
 */
final class OpenCl {
    static final long CL_DEVICE_TYPE_GPU = 1L << 2, CL_DEVICE_TYPE_ALL = 0xFFFFFFFFL;
    static final int CL_PLATFORM_NAME = 0x0902, CL_PLATFORM_VERSION = 0x0901;
    static final int CL_DEVICE_TYPE = 0x1000, CL_DEVICE_MAX_WORK_GROUP_SIZE = 0x1004, CL_DEVICE_MAX_MEM_ALLOC_SIZE = 0x1010,
            CL_DEVICE_LOCAL_MEM_SIZE = 0x1023, CL_DEVICE_NAME = 0x102B, CL_DEVICE_VERSION = 0x102F;
    static final int CL_PROGRAM_BUILD_LOG = 0x1183;
    /** CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY, CL_INVALID_BUFFER_SIZE (over the max allocation). */
    private static final List<Integer> OUT_OF_MEMORY_CODES = List.of(-4, -5, -6, -61);
    static final long CL_MEM_READ_WRITE = 1;
    static final int CL_DEVICE_NOT_FOUND = -1, CL_PLATFORM_NOT_FOUND_KHR = -1001, CL_BUILD_PROGRAM_FAILURE = -11;

    private static volatile OpenCl instance;

    private final Path library;
    private final MethodHandle getPlatformIDs, getPlatformInfo, getDeviceIDs, getDeviceInfo, createContext, releaseContext,
            createCommandQueue, releaseCommandQueue, createBuffer, releaseMemObject, createProgramWithSource, buildProgram,
            getProgramBuildInfo, releaseProgram, createKernel, releaseKernel, setKernelArg, enqueueNDRangeKernel,
            enqueueWriteBuffer, enqueueReadBuffer, enqueueCopyBuffer, finish;

    private OpenCl(Path library) {
        this.library = library;
        SymbolLookup lookup = SymbolLookup.libraryLookup(library, Arena.global());
        getPlatformIDs = fn(lookup, "clGetPlatformIDs", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        getPlatformInfo = fn(lookup, "clGetPlatformInfo", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        getDeviceIDs = fn(lookup, "clGetDeviceIDs", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
        getDeviceInfo = fn(lookup, "clGetDeviceInfo", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        createContext = fn(lookup, "clCreateContext", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        releaseContext = fn(lookup, "clReleaseContext", JAVA_INT, ADDRESS);
        createCommandQueue = fn(lookup, "clCreateCommandQueue", ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
        releaseCommandQueue = fn(lookup, "clReleaseCommandQueue", JAVA_INT, ADDRESS);
        createBuffer = fn(lookup, "clCreateBuffer", ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS);
        releaseMemObject = fn(lookup, "clReleaseMemObject", JAVA_INT, ADDRESS);
        createProgramWithSource = fn(lookup, "clCreateProgramWithSource", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        buildProgram = fn(lookup, "clBuildProgram", JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        getProgramBuildInfo = fn(lookup, "clGetProgramBuildInfo", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        releaseProgram = fn(lookup, "clReleaseProgram", JAVA_INT, ADDRESS);
        createKernel = fn(lookup, "clCreateKernel", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        releaseKernel = fn(lookup, "clReleaseKernel", JAVA_INT, ADDRESS);
        setKernelArg = fn(lookup, "clSetKernelArg", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS);
        enqueueNDRangeKernel = fn(lookup, "clEnqueueNDRangeKernel", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        enqueueWriteBuffer = fn(lookup, "clEnqueueWriteBuffer", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        enqueueReadBuffer = fn(lookup, "clEnqueueReadBuffer", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        enqueueCopyBuffer = fn(lookup, "clEnqueueCopyBuffer", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
        finish = fn(lookup, "clFinish", JAVA_INT, ADDRESS);
    }

    /** The ICD loader, loaded once per JVM; throws naming the folders searched when it is absent. */
    static OpenCl load() {
        OpenCl cl = instance;
        if (cl != null) return cl;
        synchronized (OpenCl.class) {
            if (instance == null) instance = new OpenCl(findLibrary());
            return instance;
        }
    }

    Path libraryPath() { return library; }

    private static Path findLibrary() {
        List<Path> dirs = new ArrayList<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String p : ld.split(":")) if (!p.isBlank()) dirs.add(Path.of(p));
        for (String d : new String[]{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                "/usr/local/lib", "/usr/local/cuda/lib64", "/opt/rocm/lib", "/usr/lib/wsl/lib"}) dirs.add(Path.of(d));
        for (String name : new String[]{"libOpenCL.so.1", "libOpenCL.so"}) {
            for (Path d : dirs) {
                Path p = d.resolve(name);
                if (Files.isReadable(p)) return p;
            }
        }
        throw new OpenClException("the OpenCL ICD loader (libOpenCL.so.1, e.g. Debian/Ubuntu package ocl-icd-libopencl1) was not found in " + dirs);
    }

    private static MethodHandle fn(SymbolLookup lookup, String name, MemoryLayout result, MemoryLayout... args) {
        return lookup.find(name)
                .map(a -> Linker.nativeLinker().downcallHandle(a, FunctionDescriptor.of(result, args)))
                .orElseThrow(() -> new OpenClException("the OpenCL library has no function " + name));
    }

    static void check(int code, String call) {
        if (code != 0) throw new OpenClException(call + " failed with OpenCL error " + code + " (" + errorName(code) + ")");
    }

    static String errorName(int code) {
        return switch (code) {
            case -1 -> "CL_DEVICE_NOT_FOUND"; case -2 -> "CL_DEVICE_NOT_AVAILABLE"; case -4 -> "CL_MEM_OBJECT_ALLOCATION_FAILURE";
            case -5 -> "CL_OUT_OF_RESOURCES"; case -6 -> "CL_OUT_OF_HOST_MEMORY"; case -11 -> "CL_BUILD_PROGRAM_FAILURE";
            case -30 -> "CL_INVALID_VALUE"; case -36 -> "CL_INVALID_COMMAND_QUEUE"; case -38 -> "CL_INVALID_MEM_OBJECT";
            case -46 -> "CL_INVALID_KERNEL_NAME"; case -48 -> "CL_INVALID_KERNEL"; case -49 -> "CL_INVALID_ARG_INDEX";
            case -50 -> "CL_INVALID_ARG_VALUE"; case -51 -> "CL_INVALID_ARG_SIZE"; case -52 -> "CL_INVALID_KERNEL_ARGS";
            case -54 -> "CL_INVALID_WORK_GROUP_SIZE"; case -55 -> "CL_INVALID_WORK_ITEM_SIZE"; case -61 -> "CL_INVALID_BUFFER_SIZE";
            case -1001 -> "CL_PLATFORM_NOT_FOUND_KHR";
            default -> "see cl.h";
        };
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new OpenClException("OpenCL call failed: " + t);
    }

    // ---- platforms and devices ----

    /** Every platform; empty when the loader finds no installed driver (the ICD loader then reports -1001). */
    List<MemorySegment> platforms() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(JAVA_INT);
            int code = (int) getPlatformIDs.invokeExact(0, MemorySegment.NULL, n);
            if (code == CL_PLATFORM_NOT_FOUND_KHR || n.get(JAVA_INT, 0) == 0) return List.of();
            check(code, "clGetPlatformIDs");
            int count = n.get(JAVA_INT, 0);
            MemorySegment ids = a.allocate(ADDRESS, count);
            check((int) getPlatformIDs.invokeExact(count, ids, MemorySegment.NULL), "clGetPlatformIDs");
            List<MemorySegment> out = new ArrayList<>();
            for (int i = 0; i < count; i++) out.add(ids.getAtIndex(ADDRESS, i));
            return out;
        } catch (Throwable t) { throw rethrow(t); }
    }

    String platformString(MemorySegment platform, int param) {
        return infoString("clGetPlatformInfo", (size, buf, sizeOut) -> (int) getPlatformInfo.invokeExact(platform, param, size, buf, sizeOut));
    }

    /** One clGet*Info call: {@code size} bytes into {@code buf}, the size it needs into {@code sizeOut} (NULL: not wanted). */
    private interface InfoCall {
        int call(long size, MemorySegment buf, MemorySegment sizeOut) throws Throwable;
    }

    /** A string property: its size first, then its bytes (trimmed of the terminating NUL). */
    private String infoString(String function, InfoCall info) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(JAVA_LONG);
            check(info.call(0L, MemorySegment.NULL, size), function);
            MemorySegment buf = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
            check(info.call(buf.byteSize(), buf, MemorySegment.NULL), function);
            return buf.getString(0, StandardCharsets.UTF_8).trim();
        } catch (Throwable t) { throw rethrow(t); }
    }

    /** Devices of {@code type} on a platform; empty when it has none of that type. */
    List<MemorySegment> devices(MemorySegment platform, long type) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(JAVA_INT);
            int code = (int) getDeviceIDs.invokeExact(platform, type, 0, MemorySegment.NULL, n);
            if (code == CL_DEVICE_NOT_FOUND) return List.of();
            check(code, "clGetDeviceIDs");
            int count = n.get(JAVA_INT, 0);
            if (count == 0) return List.of();
            MemorySegment ids = a.allocate(ADDRESS, count);
            check((int) getDeviceIDs.invokeExact(platform, type, count, ids, MemorySegment.NULL), "clGetDeviceIDs");
            List<MemorySegment> out = new ArrayList<>();
            for (int i = 0; i < count; i++) out.add(ids.getAtIndex(ADDRESS, i));
            return out;
        } catch (Throwable t) { throw rethrow(t); }
    }

    String deviceString(MemorySegment device, int param) {
        return infoString("clGetDeviceInfo", (size, buf, sizeOut) -> (int) getDeviceInfo.invokeExact(device, param, size, buf, sizeOut));
    }

    /** A cl_ulong or size_t device property (both 8 bytes on 64-bit hosts). */
    long deviceLong(MemorySegment device, int param) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            check((int) getDeviceInfo.invokeExact(device, param, 8L, v, MemorySegment.NULL), "clGetDeviceInfo");
            return v.get(JAVA_LONG, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    // ---- context, queue, memory ----

    MemorySegment createContext(MemorySegment device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment devs = a.allocate(ADDRESS);
            devs.set(ADDRESS, 0, device);
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment ctx = (MemorySegment) createContext.invokeExact(MemorySegment.NULL, 1, devs, MemorySegment.NULL, MemorySegment.NULL, err);
            check(err.get(JAVA_INT, 0), "clCreateContext");
            return ctx;
        } catch (Throwable t) { throw rethrow(t); }
    }

    /** An in-order queue: kernels run one after another, so a task's temporaries are free when the next starts. */
    MemorySegment createQueue(MemorySegment context, MemorySegment device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment q = (MemorySegment) createCommandQueue.invokeExact(context, device, 0L, err);
            check(err.get(JAVA_INT, 0), "clCreateCommandQueue");
            return q;
        } catch (Throwable t) { throw rethrow(t); }
    }

    MemorySegment createBuffer(MemorySegment context, long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment b = (MemorySegment) createBuffer.invokeExact(context, CL_MEM_READ_WRITE, Math.max(bytes, 4L), MemorySegment.NULL, err);
            int code = err.get(JAVA_INT, 0);
            String failure = "clCreateBuffer: OpenCL error " + code + " (" + errorName(code) + ")";
            if (OUT_OF_MEMORY_CODES.contains(code)) throw MemoryExhaustedException.device(bytes, failure);
            if (code != 0) throw new OpenClException("clCreateBuffer of " + bytes + " bytes failed with OpenCL error " + code + " (" + errorName(code) + ")");
            return b;
        } catch (Throwable t) { throw rethrow(t); }
    }

    void write(MemorySegment queue, MemorySegment buffer, long offset, MemorySegment host, long bytes) {
        try {
            check((int) enqueueWriteBuffer.invokeExact(queue, buffer, 1, offset, bytes, host, 0, MemorySegment.NULL, MemorySegment.NULL), "clEnqueueWriteBuffer");
        } catch (Throwable t) { throw rethrow(t); }
    }

    void read(MemorySegment queue, MemorySegment buffer, long offset, MemorySegment host, long bytes) {
        try {
            check((int) enqueueReadBuffer.invokeExact(queue, buffer, 1, offset, bytes, host, 0, MemorySegment.NULL, MemorySegment.NULL), "clEnqueueReadBuffer");
        } catch (Throwable t) { throw rethrow(t); }
    }

    void copy(MemorySegment queue, MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset, long bytes) {
        try {
            check((int) enqueueCopyBuffer.invokeExact(queue, src, dst, srcOffset, dstOffset, bytes, 0, MemorySegment.NULL, MemorySegment.NULL), "clEnqueueCopyBuffer");
        } catch (Throwable t) { throw rethrow(t); }
    }

    void finish(MemorySegment queue) {
        try { check((int) finish.invokeExact(queue), "clFinish"); } catch (Throwable t) { throw rethrow(t); }
    }

    // ---- programs and kernels ----

    /** Builds {@code source} for one device; on failure the exception carries the compiler's build log. */
    MemorySegment buildProgram(MemorySegment context, MemorySegment device, String name, String source, String options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment strings = a.allocate(ADDRESS);
            strings.set(ADDRESS, 0, a.allocateFrom(source, StandardCharsets.UTF_8));
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment program = (MemorySegment) createProgramWithSource.invokeExact(context, 1, strings, MemorySegment.NULL, err);
            check(err.get(JAVA_INT, 0), "clCreateProgramWithSource(" + name + ")");
            MemorySegment devs = a.allocate(ADDRESS);
            devs.set(ADDRESS, 0, device);
            int code = (int) buildProgram.invokeExact(program, 1, devs, a.allocateFrom(options, StandardCharsets.UTF_8), MemorySegment.NULL, MemorySegment.NULL);
            if (code != 0) {
                String log = buildLog(program, device);
                releaseProgram(program);
                throw new OpenClException("clBuildProgram(" + name + ") failed with OpenCL error " + code + " (" + errorName(code) + "); build log:\n" + log);
            }
            return program;
        } catch (Throwable t) { throw rethrow(t); }
    }

    private String buildLog(MemorySegment program, MemorySegment device) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(JAVA_LONG);
            int code = (int) getProgramBuildInfo.invokeExact(program, device, CL_PROGRAM_BUILD_LOG, 0L, MemorySegment.NULL, size);
            if (code != 0) return "(no build log: error " + code + ")";
            MemorySegment buf = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
            code = (int) getProgramBuildInfo.invokeExact(program, device, CL_PROGRAM_BUILD_LOG, buf.byteSize(), buf, MemorySegment.NULL);
            return code != 0 ? "(no build log: error " + code + ")" : buf.getString(0, StandardCharsets.UTF_8);
        }
    }

    MemorySegment createKernel(MemorySegment program, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment k = (MemorySegment) createKernel.invokeExact(program, a.allocateFrom(name, StandardCharsets.UTF_8), err);
            check(err.get(JAVA_INT, 0), "clCreateKernel(" + name + ")");
            return k;
        } catch (Throwable t) { throw rethrow(t); }
    }

    /** Sets argument {@code index} from {@code bytes} bytes at {@code value} (NULL with a size: local memory). */
    void setArg(MemorySegment kernel, String name, int index, long bytes, MemorySegment value) {
        try {
            check((int) setKernelArg.invokeExact(kernel, index, bytes, value), "clSetKernelArg(" + name + ", " + index + ")");
        } catch (Throwable t) { throw rethrow(t); }
    }

    void enqueue(MemorySegment queue, MemorySegment kernel, String name, int dims, MemorySegment global, MemorySegment local) {
        try {
            check((int) enqueueNDRangeKernel.invokeExact(queue, kernel, dims, MemorySegment.NULL, global, local, 0, MemorySegment.NULL, MemorySegment.NULL),
                    "clEnqueueNDRangeKernel(" + name + ")");
        } catch (Throwable t) { throw rethrow(t); }
    }

    // ---- release (errors while releasing are ignored: nothing useful can be done then) ----

    void releaseKernel(MemorySegment k) { try { int ignored = (int) releaseKernel.invokeExact(k); } catch (Throwable ignored) { } }
    void releaseProgram(MemorySegment p) { try { int ignored = (int) releaseProgram.invokeExact(p); } catch (Throwable ignored) { } }
    void releaseBuffer(MemorySegment b) { try { int ignored = (int) releaseMemObject.invokeExact(b); } catch (Throwable ignored) { } }
    void releaseQueue(MemorySegment q) { try { int ignored = (int) releaseCommandQueue.invokeExact(q); } catch (Throwable ignored) { } }
    void releaseContext(MemorySegment c) { try { int ignored = (int) releaseContext.invokeExact(c); } catch (Throwable ignored) { } }
}
