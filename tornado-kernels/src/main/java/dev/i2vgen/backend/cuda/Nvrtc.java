package dev.i2vgen.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NVRTC ({@code libnvrtc.so.13} or {@code .12}) through FFM: CUDA C++ source to PTX ({@code compute_XY} targets) or
 * straight to the device's machine code, a CUBIN ({@code sm_XY} targets), at run time.
 */
final class Nvrtc {
    /** NVRTC_ERROR_INVALID_OPTION: among others, a target architecture this NVRTC does not know. */
    private static final int INVALID_OPTION = 5;

    /** NVRTC refused the options (an architecture it does not know, say): the caller may try other ones. */
    static final class OptionsRefused extends CudaException {
        OptionsRefused(String message) { super(message); }
    }

    private final NativeLibrary lib;
    private final MethodHandle create, compile, ptxSize, ptx, cubinSize, cubin, logSize, log, destroy, errorString, version;

    private Nvrtc(NativeLibrary lib) {
        this.lib = lib;
        create = lib.function("nvrtcCreateProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        compile = lib.function("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        ptxSize = lib.function("nvrtcGetPTXSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        ptx = lib.function("nvrtcGetPTX", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cubinSize = lib.function("nvrtcGetCUBINSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cubin = lib.function("nvrtcGetCUBIN", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        logSize = lib.function("nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        log = lib.function("nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        destroy = lib.function("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        errorString = lib.function("nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        version = lib.function("nvrtcVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    }

    static Nvrtc load() {
        return new Nvrtc(NativeLibrary.find("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so")
                .orElseThrow(() -> new CudaException("NVRTC (libnvrtc.so.13 or .12) not found in " + NativeLibrary.searchDirectories()
                        + "; install the CUDA toolkit or set CUDA_HOME")));
    }

    String libraryPath() { return lib.path().toString(); }

    /** "13.0" */
    String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(JAVA_INT), minor = a.allocate(JAVA_INT);
            check(CudaDriver.call(version, major, minor), "nvrtcVersion");
            return major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        }
    }

    /**
     * Compiles {@code source} (named {@code name} in messages) with the options and returns the module image the
     * driver loads: the CUBIN when {@code cubin} (the options then name an {@code sm_XY} target), else the PTX text with
     * its terminating NUL. Throws with the compiler log; {@link OptionsRefused} when NVRTC rejects the options.
     */
    byte[] compile(String name, String source, List<String> options, boolean cubin) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progHolder = a.allocate(ADDRESS);
            check(CudaDriver.call(create, progHolder, a.allocateFrom(source), a.allocateFrom(name), 0, MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            MemorySegment prog = progHolder.get(ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ADDRESS, options.size());
                for (int i = 0; i < options.size(); i++) opts.setAtIndex(ADDRESS, i, a.allocateFrom(options.get(i)));
                int rc = CudaDriver.call(compile, prog, options.size(), opts);
                if (rc == INVALID_OPTION) throw new OptionsRefused("NVRTC " + version() + " refused the options " + options + " for " + name + ": " + error(rc));
                if (rc != 0) throw new CudaException("NVRTC could not compile " + name + " " + options + ": " + error(rc) + "\n" + programLog(a, prog));
                MemorySegment size = a.allocate(JAVA_LONG);
                check(CudaDriver.call(cubin ? cubinSize : ptxSize, prog, size), cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize");
                MemorySegment buf = a.allocate(size.get(JAVA_LONG, 0));
                check(CudaDriver.call(cubin ? this.cubin : ptx, prog, buf), cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX");
                return buf.toArray(JAVA_BYTE);   // the PTX size counts its NUL
            } finally {
                progHolder.set(ADDRESS, 0, prog);
                CudaDriver.call(destroy, progHolder);
            }
        }
    }

    private String programLog(Arena a, MemorySegment prog) {
        MemorySegment size = a.allocate(JAVA_LONG);
        if (CudaDriver.call(logSize, prog, size) != 0) return "(no log)";
        MemorySegment buf = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
        if (CudaDriver.call(log, prog, buf) != 0) return "(no log)";
        return buf.getString(0);
    }

    private void check(int rc, String what) {
        if (rc != 0) throw new CudaException(what + " failed: " + error(rc));
    }

    private String error(int rc) {
        try {
            MemorySegment s = (MemorySegment) errorString.invokeWithArguments(rc);
            return s.reinterpret(256).getString(0) + " (" + rc + ")";
        } catch (Throwable t) {
            return "NVRTC error " + rc;
        }
    }
}
