package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuDNN 9 ({@code libcudnn.so.9}) through FFM: the legacy convolution API only (tensor, filter and convolution
 * descriptors in NCHW or NHWC, algorithm search on our own buffers, {@code cudnnConvolutionForward}, the bias fused by
 * {@code cudnnConvolutionBiasActivationForward} or added by {@code cudnnAddTensor}).
 * Optional: when the library or one of its symbols is missing, {@link #load()} answers empty and the backend keeps
 * its own convolution paths. Searched like the other CUDA libraries, then in the pip wheel folders
 * ({@code nvidia/cudnn/lib}). Holds what the convolutions of all plans of one backend share: the handle, the
 * algorithm choices by shape and one capped workspace (see {@link #workspace}).
 */
final class Cudnn implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Cudnn.class.getName());
    static final int DATA_FLOAT = 0, DATA_HALF = 2, DATA_BFLOAT16 = 9;
    static final int FORMAT_NCHW = 0, FORMAT_NHWC = 1;   // NHWC filters are KRSC: [O, kh, kw, C]
    static final int CROSS_CORRELATION = 1;
    static final int TENSOR_OP_MATH = 1;
    static final int ALGO_IMPLICIT_PRECOMP_GEMM = 1, ACTIVATION_IDENTITY = 5, NOT_PROPAGATE_NAN = 0;
    /** cudnnConvolutionFwdAlgoPerf_t: algo, status (int), time (float), memory (size_t at 16), determinism, mathType, reserved[3]. */
    static final long PERF_BYTES = 48, PERF_ALGO = 0, PERF_STATUS = 4, PERF_TIME = 8, PERF_MEMORY = 16, PERF_MATH = 28;
    static final int MAX_ALGOS = 10;
    /** cuDNN 9 splits the legacy API over sub-libraries that libcudnn.so.9 opens by soname; preloaded in dependency order. */
    private static final String[] SUB_LIBRARIES = {"libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9",
            "libcudnn_engines_runtime_compiled.so.9", "libcudnn_heuristic.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9"};

    private final NativeLibrary lib;
    final MethodHandle setStream, createTensor, setTensor4d, destroyTensor, createFilter, setFilter4d, destroyFilter,
            createConv, setConv2d, setConvMath, destroyConv, findForwardEx, heuristicForward, workspaceSize, forward, addTensor,
            createActivation, setActivation, destroyActivation;
    /** cudnnConvolutionBiasActivationForward, absent in a library without it: the bias in the conv's epilogue. */
    final Optional<MethodHandle> biasActivationForward;
    private final MethodHandle destroy, errorString;
    final MemorySegment handle;
    private final long version;
    /**
     * Algorithm choices by shape, dtype and workspace bound (empty: cuDNN declined that shape): the search runs real
     * convolutions, so it is done once per distinct shape and backend, however often the shape repeats.
     */
    final Map<String, Optional<CudnnConvolution.Choice>> choices = new ConcurrentHashMap<>();
    /** By choice key: whether cuDNN accepted the bias fused into that convolution (one trial call per shape). */
    final Map<String, Boolean> fusedBias = new ConcurrentHashMap<>();
    /** NCHW-or-island decisions by convolution shape and dtype ({@link ConvIsland}), measured once per shape at plan build. */
    final Map<String, ConvIsland> islands = new ConcurrentHashMap<>();
    /** Algorithm searches run and convolutions planned (tests check that searches are cached and cuDNN is used). */
    final AtomicInteger searches = new AtomicInteger(), planned = new AtomicInteger();
    /** Thread time in algorithm searches (I2VGEN_TIMINGS=1). */
    final java.util.concurrent.atomic.LongAdder searchNanos = new java.util.concurrent.atomic.LongAdder();
    /** Workspaces handed out by {@link #workspace}; never freed before {@link #close()} since captured steps point into them. */
    private final List<Long> workspaces = new ArrayList<>();
    private long workspaceBytes;
    private CudaDriver driver;

    private Cudnn(NativeLibrary lib, java.util.concurrent.locks.Lock streamLock) {
        this.lib = lib;
        this.streamLock = streamLock;
        MethodHandle create = lib.function("cudnnCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("cudnnDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        errorString = lib.function("cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        MethodHandle getVersion = lib.function("cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
        setStream = lib.function("cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        createTensor = lib.function("cudnnCreateTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setTensor4d = lib.function("cudnnSetTensor4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyTensor = lib.function("cudnnDestroyTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        createFilter = lib.function("cudnnCreateFilterDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setFilter4d = lib.function("cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyFilter = lib.function("cudnnDestroyFilterDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        createConv = lib.function("cudnnCreateConvolutionDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setConv2d = lib.function("cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setConvMath = lib.function("cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        destroyConv = lib.function("cudnnDestroyConvolutionDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // the Ex search runs on buffers we pass (x, w, y and a bounded workspace): it allocates nothing itself, unlike
        // cudnnFindConvolutionForwardAlgorithm, whose own trial buffers took the device to 65 GiB (notes, section 5)
        findForwardEx = lib.function("cudnnFindConvolutionForwardAlgorithmEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        heuristicForward = lib.function("cudnnGetConvolutionForwardAlgorithm_v7", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        workspaceSize = lib.function("cudnnGetConvolutionForwardWorkspaceSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
        forward = lib.function("cudnnConvolutionForward", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS));
        addTensor = lib.function("cudnnAddTensor", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS));
        createActivation = lib.function("cudnnCreateActivationDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setActivation = lib.function("cudnnSetActivationDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_DOUBLE));
        destroyActivation = lib.function("cudnnDestroyActivationDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // (handle, alpha1, xDesc, x, wDesc, w, convDesc, algo, workspace, bytes, alpha2, zDesc, z, biasDesc, bias, actDesc, yDesc, y)
        biasActivationForward = lib.optionalFunction("cudnnConvolutionBiasActivationForward", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        try {
            version = (long) getVersion.invoke();
        } catch (Throwable t) {
            throw new CudaException("cudnnGetVersion failed: " + t, t);
        }
        if (version < 90000) throw new CudaException(lib.path() + " is cuDNN " + version + ", not 9.x");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            check(CudaDriver.call(create, h), "cudnnCreate");
            handle = h.get(ADDRESS, 0);
        }
    }

    /**
     * cuDNN 9 for the current CUDA context, or empty (logged once with the reason) when it is not installed or
     * unusable: the backend then keeps its implicit-GEMM and im2col + cuBLASLt convolutions. {@code streamLock} owns the
     * backend's stream ({@link #streamLock()}).
     */
    static Optional<Cudnn> load(java.util.concurrent.locks.Lock streamLock) {
        List<Path> dirs = new ArrayList<>(NativeLibrary.searchDirectories());
        dirs.addAll(pipDirectories());
        Optional<NativeLibrary> lib;
        try {
            for (int pass = 0; pass < 2; pass++) {   // a sub-library may need one listed after it: a second pass picks it up
                for (String sub : SUB_LIBRARIES) NativeLibrary.findIn(dirs, sub);
            }
            lib = NativeLibrary.findIn(dirs, "libcudnn.so.9");
        } catch (RuntimeException e) {
            lib = Optional.empty();
        }
        if (lib.isEmpty()) {
            LOG.info("cuDNN 9 (libcudnn.so.9) not found in " + dirs + ": convolutions use the built-in kernels");
            return Optional.empty();
        }
        try {
            Cudnn c = new Cudnn(lib.get(), streamLock);
            LOG.info("cuDNN " + c.version + " loaded from " + lib.get().path());
            return Optional.of(c);
        } catch (CudaException e) {
            LOG.warning("cuDNN unusable, convolutions use the built-in kernels: " + e.getMessage());
            return Optional.empty();
        }
    }

    /** Where {@code pip install nvidia-cudnn-cu12} (or a torch install) puts the library: site-packages/nvidia/cudnn/lib. */
    static List<Path> pipDirectories() {
        List<Path> roots = new ArrayList<>();
        String venv = System.getenv("VIRTUAL_ENV");
        if (venv != null && !venv.isBlank()) roots.add(Path.of(venv, "lib"));
        String conda = System.getenv("CONDA_PREFIX");
        if (conda != null && !conda.isBlank()) roots.add(Path.of(conda, "lib"));
        roots.add(Path.of(System.getProperty("user.home"), ".local", "lib"));
        roots.add(Path.of("/usr/local/lib"));
        roots.add(Path.of("/usr/lib"));
        roots.add(Path.of("/opt/conda/lib"));
        List<Path> dirs = new ArrayList<>();
        for (Path root : roots) {
            if (!Files.isDirectory(root)) continue;
            try (var pythons = Files.newDirectoryStream(root, "python3*")) {
                for (Path py : pythons) {
                    for (String packages : new String[]{"site-packages", "dist-packages"}) {
                        Path d = py.resolve(packages).resolve("nvidia").resolve("cudnn").resolve("lib");
                        if (Files.isDirectory(d)) dirs.add(d);
                    }
                }
            } catch (Exception ignored) {
                // unreadable folder: nothing to add
            }
        }
        return dirs;
    }

    String libraryPath() { return lib.path().toString(); }

    /**
     * The device workspace of all cuDNN convolutions of this backend, at least {@code bytes}, allocated on first use:
     * the algorithm search runs in it and so do the planned convolutions. One buffer per backend is enough because
     * every plan runs on the backend's one stream (as cuBLASLt's workspace is shared); a task scratch would keep a
     * doubled copy per plan. Throws {@link CudaException} when the device cannot hold it.
     */
    synchronized long workspace(CudaDriver driver, long bytes) {
        this.driver = driver;
        if (workspaceBytes < bytes) {   // callers ask for the same bound; a larger one gets a new buffer, the old stays valid
            long p = driver.malloc(bytes);
            workspaces.add(p);
            workspaceBytes = bytes;
        }
        return workspaces.getLast();
    }

    /** Bytes of the current workspace (0 before the first cuDNN convolution). */
    synchronized long workspaceBytes() { return workspaceBytes; }

    long version() { return version; }

    /**
     * Held around every use of {@link #handle} and the workspace outside a plan's run: the searches and trials at plan
     * build, on the backend's stream ({@link CudaBackend#streamLock}, given to {@link #load}; runs hold it too).
     * cuDNN's handle must never be used by two threads at once.
     */
    private final java.util.concurrent.locks.Lock streamLock;

    java.util.concurrent.locks.Lock streamLock() { return streamLock; }

    /** Where choices persist between processes; set by the backend right after loading. */
    private AlgorithmCache algorithms;

    void useAlgorithmCache(AlgorithmCache cache) { this.algorithms = cache; }

    private String diskKey(String kind, String key) { return "cuDNN " + version + " " + kind + " " + key; }

    /** The algorithm chosen for {@code key} in this process or an earlier one: empty = declined, null = not searched yet. */
    Optional<CudnnConvolution.Choice> knownChoice(String key) {
        Optional<CudnnConvolution.Choice> c = choices.get(key);
        if (c != null || algorithms == null) return c;
        c = algorithms.get(diskKey("conv", key)).map(CudnnConvolution.Choice::parse).orElse(null);
        if (c != null) choices.put(key, c);
        return c;
    }

    void rememberChoice(String key, Optional<CudnnConvolution.Choice> choice) {
        choices.put(key, choice);
        if (algorithms != null) algorithms.put(diskKey("conv", key), choice.map(CudnnConvolution.Choice::format).orElse("none"));
    }

    /** Whether cuDNN fused the bias into the convolution of {@code key} (null: not tried yet). */
    Boolean knownFusedBias(String key) {
        Boolean b = fusedBias.get(key);
        if (b != null || algorithms == null) return b;
        b = algorithms.get(diskKey("fused-bias", key)).map(Boolean::valueOf).orElse(null);
        if (b != null) fusedBias.put(key, b);
        return b;
    }

    void rememberFusedBias(String key, boolean fused) {
        fusedBias.put(key, fused);
        if (algorithms != null) algorithms.put(diskKey("fused-bias", key), Boolean.toString(fused));
    }

    /** The layout decision of a convolution shape ({@link ConvIsland}), null when not measured yet. */
    ConvIsland knownIsland(String key) {
        ConvIsland i = islands.get(key);
        if (i != null || algorithms == null) return i;
        i = algorithms.get(diskKey("island", key)).map(ConvIsland::parse).orElse(null);
        if (i != null) islands.put(key, i);
        return i;
    }

    void rememberIsland(String key, ConvIsland decision) {
        islands.put(key, decision);
        if (algorithms != null) algorithms.put(diskKey("island", key), decision.format());
    }

    static int dataType(DType t) {
        return switch (t) {
            case F32 -> DATA_FLOAT;
            case F16 -> DATA_HALF;
            case BF16 -> DATA_BFLOAT16;
            default -> throw new IllegalArgumentException("cuDNN convolutions support F32, F16 and BF16, not " + t);
        };
    }

    void check(int status, String what) {
        if (status == 0) return;
        String text;
        try {
            MemorySegment s = (MemorySegment) errorString.invoke(status);
            text = s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            text = "?";
        }
        throw new CudaException(what + " failed: cuDNN status " + status + " (" + text + ")");
    }

    @Override
    public synchronized void close() {
        CudaDriver.call(destroy, handle);
        for (long p : workspaces) driver.free(p);   // the backend syncs its stream before closing cuDNN
        workspaces.clear();
    }
}
