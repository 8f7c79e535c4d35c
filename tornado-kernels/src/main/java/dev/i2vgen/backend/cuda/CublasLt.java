package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLASLt ({@code libcublasLt.so.13} or {@code .12}) through FFM, for the row-major GEMMs of Linear,
 * MatMul and the convolutions. fp32 runs with CUBLAS_COMPUTE_32F (TF32 off, for conformance); fp16 and
 * bf16 operands accumulate in fp32. A {@link Gemm} is planned once (descriptors + algorithm) and run many
 * times, also inside stream capture. The algorithm is the heuristic's first, or, when the caller passes a
 * {@link Timing}, the fastest of up to {@link #SEARCH_CANDIDATES} heuristic results timed on the plan's own
 * buffers; the choice is kept per problem ({@link GemmSpec#searchKey} plus the operands' alignments), so each
 * distinct GEMM of a backend is timed once.
 */
final class CublasLt implements AutoCloseable {
    private static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    private static final int CUBLAS_COMPUTE_32F = 68;
    private static final int DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8;
    private static final int LAYOUT_BATCH_COUNT = 5, LAYOUT_STRIDED_BATCH_OFFSET = 6;
    private static final int PREF_MAX_WORKSPACE_BYTES = 1, PREF_MIN_ALIGNMENT_A = 5, PREF_MIN_ALIGNMENT_B = 6,
            PREF_MIN_ALIGNMENT_C = 7, PREF_MIN_ALIGNMENT_D = 8;
    private static final int EPILOGUE_DEFAULT = 1, EPILOGUE_BIAS = 4;
    private static final int OP_N = 0, OP_T = 1;
    // cublasLtMatmulHeuristicResult_t: algo (64 bytes), size_t workspaceSize, cublasStatus_t state, float wavesCount, int[4]
    private static final long HEURISTIC_RESULT_BYTES = 96, ALGO_BYTES = 64, RESULT_WORKSPACE_OFFSET = 64, RESULT_STATE_OFFSET = 72;
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(CublasLt.class.getName());
    static final long WORKSPACE_BYTES = 32L << 20;
    /** Heuristic results timed per problem when searching. */
    static final int SEARCH_CANDIDATES = 8;
    private static final int SEARCH_REPEATS = 5, SEARCH_ROUNDS = 3;
    /**
     * Another candidate replaces the heuristic's first only when its best round is this much faster: trials differ
     * by a few percent from run to run (H100: a 3 % loss from a noise-driven choice at M = 450,560, N = K = 320).
     */
    private static final double SEARCH_MARGIN = 0.97;

    /**
     * What a timed algorithm choice runs on: the backend's driver, stream and workspace, and the lock that owns them
     * ({@link CudaBackend#streamLock}: held for the trials, so they neither share the workspace with a run on another
     * thread nor time its work). Trials run D = ... on the planned buffers, so only at plan build (never during stream
     * capture), and D must be memory no live data is in: the plan's own arena before its first run (C is only read,
     * also when it is D's storage).
     */
    record Timing(CudaDriver driver, MemorySegment stream, long workspace, java.util.concurrent.locks.Lock lock) {}

    /** -Di2vgen.cuda.gemmSearch=false: the heuristic's first algorithm, no timing (A/B runs). */
    static boolean searchEnabled() { return !"false".equals(System.getProperty("i2vgen.cuda.gemmSearch")); }

    /** Search key → the 64 bytes of the chosen algorithm. */
    private final java.util.Map<String, byte[]> chosen = new java.util.concurrent.ConcurrentHashMap<>();
    /** Thread time in timed algorithm searches (I2VGEN_TIMINGS=1). */
    final java.util.concurrent.atomic.LongAdder searchNanos = new java.util.concurrent.atomic.LongAdder();
    /** Problems timed, and how many of them chose another than the heuristic's first (tests, logs). */
    private final java.util.concurrent.atomic.AtomicInteger searched = new java.util.concurrent.atomic.AtomicInteger(),
            improved = new java.util.concurrent.atomic.AtomicInteger();

    private final NativeLibrary lib;
    private final MethodHandle create, destroy, descCreate, descDestroy, descSet, layoutCreate, layoutDestroy, layoutSet,
            prefCreate, prefDestroy, prefSet, heuristic, matmul;
    private final MemorySegment handle;

    private CublasLt(NativeLibrary lib) {
        this.lib = lib;
        create = lib.function("cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("cublasLtDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        descCreate = lib.function("cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        descDestroy = lib.function("cublasLtMatmulDescDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        descSet = lib.function("cublasLtMatmulDescSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        layoutCreate = lib.function("cublasLtMatrixLayoutCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        layoutDestroy = lib.function("cublasLtMatrixLayoutDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        layoutSet = lib.function("cublasLtMatrixLayoutSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        prefCreate = lib.function("cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        prefDestroy = lib.function("cublasLtMatmulPreferenceDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        prefSet = lib.function("cublasLtMatmulPreferenceSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        heuristic = lib.function("cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        matmul = lib.function("cublasLtMatmul", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS,
                JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            check(CudaDriver.call(create, h), "cublasLtCreate");
            handle = h.get(ADDRESS, 0);
        }
    }

    static CublasLt load() {
        return new CublasLt(NativeLibrary.find("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so")
                .orElseThrow(() -> new CudaException("cuBLASLt (libcublasLt.so.13 or .12) not found in " + NativeLibrary.searchDirectories())));
    }

    String libraryPath() { return lib.path().toString(); }

    /** Where choices persist between processes (set by the backend), and this library's part of their keys. */
    private AlgorithmCache algorithms;
    private String libraryKey;

    void useAlgorithmCache(AlgorithmCache cache) {
        this.algorithms = cache;
        java.nio.file.Path p = lib.path();
        try {
            p = p.toRealPath();   // the versioned file name
        } catch (java.io.IOException e) {
            // the name as found will do
        }
        this.libraryKey = p.getFileName().toString();
    }

    private String diskKey(String key) { return libraryKey + " " + key; }

    private static int cudaType(DType t) {
        return switch (t) {
            case F32 -> CUDA_R_32F;
            case F16 -> CUDA_R_16F;
            case BF16 -> CUDA_R_16BF;
            default -> throw new IllegalArgumentException("cuBLASLt GEMM supports F32, F16 and BF16, not " + t);
        };
    }

    /**
     * Plans row-major, strided-batched C[b] = alpha · A[b] · op(B[b]) (+ bias[N] per column), with
     * A[M, K], B[K, N] or B[N, K] when {@code transposeB}, C[M, N]; a batch stride of 0 shares an operand.
     * cuBLASLt is column-major, so it computes Cᵀ = op(B)ᵀ · Aᵀ, which puts the bias on its rows (N).
     * Strides are in elements; a, b, c, bias are device pointers (bias 0 when none), fixed for the plan,
     * and their real alignment is told to the heuristic (planned buffers are only 64-byte aligned).
     */
    Gemm plan(DType type, int m, int n, int k, boolean transposeB, long strideA, long strideB, long strideC,
              int batch, float alpha, long a, long b, long c, long bias) {
        return new Gemm(GemmSpec.packed(type, m, n, k, transposeB, strideA, strideB, strideC, batch, alpha, a, b, c, bias), null);
    }

    /**
     * Plans the general form (see {@link GemmSpec}): D = alpha · A · op(B) + beta · C (+ bias per column), each
     * matrix with its own leading dimension and batch stride, C distinct from D or D itself. Throws a
     * {@link CudaException} when the heuristic finds no algorithm.
     */
    Gemm plan(GemmSpec spec) { return new Gemm(spec, null); }

    /** As {@link #plan(GemmSpec)}; with a non-null {@code timing}, the fastest heuristic candidate (see {@link Timing}). */
    Gemm plan(GemmSpec spec, Timing timing) { return new Gemm(spec, timing); }

    /** Distinct problems timed so far, and of those, how many run another algorithm than the heuristic's first. */
    int[] searchCounts() { return new int[]{searched.get(), improved.get()}; }

    private static int alignment(long ptr) {
        return (int) Math.min(256, Long.lowestOneBit(ptr == 0 ? 256 : ptr));
    }

    final class Gemm implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment desc, layoutA, layoutB, layoutC, layoutD, algo, alpha, beta;
        private final String what;
        private final long a, b, c, d;

        private Gemm(GemmSpec s, Timing timing) {
            what = s.describe();
            this.a = s.a().ptr();
            this.b = s.b().ptr();
            this.c = s.c().ptr();
            this.d = s.d().ptr();
            boolean transposeB = s.transposeB();
            int m = s.m(), n = s.n(), k = s.k(), batch = s.batch();
            boolean hasBias = s.bias() != 0;
            int ct = cudaType(s.type());
            try (Arena a = Arena.ofConfined()) {
                MemorySegment holder = a.allocate(ADDRESS);
                check(CudaDriver.call(descCreate, holder, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
                desc = holder.get(ADDRESS, 0);
                // lt "A" is our B: column-major view of row-major B[K,N] is Bᵀ (N×K, ld ldb): no transpose;
                // of row-major B[N,K] it is K×N (ld ldb): transpose to get N×K.
                setDesc(DESC_TRANSA, transposeB ? OP_T : OP_N);
                setDesc(DESC_TRANSB, OP_N);
                setDesc(DESC_EPILOGUE, hasBias ? EPILOGUE_BIAS : EPILOGUE_DEFAULT);
                if (hasBias) {
                    MemorySegment bp = a.allocate(JAVA_LONG);
                    bp.set(JAVA_LONG, 0, s.bias());
                    check(CudaDriver.call(descSet, desc, DESC_BIAS_POINTER, bp, 8L), "cublasLtMatmulDescSetAttribute(bias)");
                }
                layoutA = layout(ct, transposeB ? k : n, transposeB ? n : k, s.b().ld(), batch, s.b().batchStride());
                layoutB = layout(ct, k, m, s.a().ld(), batch, s.a().batchStride());
                // in place (C = D, same layout by GemmSpec's check): one descriptor for both, as cuBLASLt requires
                layoutD = layout(ct, n, m, s.d().ld(), batch, s.d().batchStride());
                layoutC = s.separateC() ? layout(ct, n, m, s.c().ld(), batch, s.c().batchStride()) : layoutD;
                MemorySegment pref = a.allocate(ADDRESS);
                check(CudaDriver.call(prefCreate, pref), "cublasLtMatmulPreferenceCreate");
                MemorySegment p = pref.get(ADDRESS, 0);
                MemorySegment ws = a.allocate(JAVA_LONG);
                ws.set(JAVA_LONG, 0, WORKSPACE_BYTES);
                check(CudaDriver.call(prefSet, p, PREF_MAX_WORKSPACE_BYTES, ws, 8L), "cublasLtMatmulPreferenceSetAttribute");
                // lt A is our b, lt B our a; C and D as given
                int[][] aligns = {{PREF_MIN_ALIGNMENT_A, alignment(this.b)}, {PREF_MIN_ALIGNMENT_B, alignment(this.a)},
                        {PREF_MIN_ALIGNMENT_C, alignment(this.c)}, {PREF_MIN_ALIGNMENT_D, alignment(this.d)}};
                for (int[] al : aligns) {
                    MemorySegment v = a.allocate(JAVA_INT);
                    v.set(JAVA_INT, 0, al[1]);
                    check(CudaDriver.call(prefSet, p, al[0], v, 4L), "cublasLtMatmulPreferenceSetAttribute(alignment)");
                }
                int requested = timing == null ? 1 : SEARCH_CANDIDATES;
                MemorySegment results = arena.allocate(HEURISTIC_RESULT_BYTES * requested, 8);
                MemorySegment count = a.allocate(JAVA_INT);
                int rc = CudaDriver.call(heuristic, handle, desc, layoutA, layoutB, layoutC, layoutD, p, requested, results, count);
                CudaDriver.call(prefDestroy, p);
                if (rc != 0 || count.get(JAVA_INT, 0) == 0) {
                    close();   // the descriptors made so far
                    throw new CudaException("cuBLASLt found no algorithm for " + what + " (status " + rc + ")");
                }
                alpha = arena.allocate(JAVA_FLOAT);
                alpha.set(JAVA_FLOAT, 0, s.alpha());
                beta = arena.allocate(JAVA_FLOAT);
                beta.set(JAVA_FLOAT, 0, s.beta());
                int found = Math.min(requested, count.get(JAVA_INT, 0));
                long t0 = System.nanoTime();
                int pick = timing == null || found == 1 ? 0
                        : choose(s.searchKey() + " align " + aligns[0][1] + "," + aligns[1][1] + "," + aligns[2][1] + "," + aligns[3][1]
                                + "," + alignment(s.bias()), results, found, timing);
                // the algo struct is the first 64 bytes of a heuristic result
                algo = results.asSlice(pick * HEURISTIC_RESULT_BYTES, ALGO_BYTES);
                searchNanos.add(System.nanoTime() - t0);
            }
        }

        /**
         * The index of the fastest usable result: the cached choice for {@code key} if it is among them, else each
         * candidate timed (a warm-up launch, then SEARCH_ROUNDS rounds of SEARCH_REPEATS launches between events,
         * the best round counts); candidates whose state is not success or whose launch fails are skipped, and the
         * first result stays unless the fastest beats it by {@link #SEARCH_MARGIN}.
         */
        private int choose(String key, MemorySegment results, int found, Timing timing) {
            return SearchOnce.knownOrSearched(timing.lock(), () -> {
                int known = knownPick(key, results, found);
                return known >= 0 ? known : null;
            }, () -> timeCandidates(key, results, found, timing));
        }

        /** The index of the result chosen for {@code key} before (this process or the algorithm cache), or −1. */
        private int knownPick(String key, MemorySegment results, int found) {
            byte[] known = chosen.get(key);
            if (known == null && algorithms != null) known = algorithms.get(diskKey(key)).map(java.util.HexFormat.of()::parseHex).orElse(null);
            if (known != null) {
                for (int i = 0; i < found; i++)
                    if (java.util.Arrays.equals(known, results.asSlice(i * HEURISTIC_RESULT_BYTES, ALGO_BYTES).toArray(JAVA_BYTE))) return i;
            }
            return -1;
        }

        /** {@link #choose}'s timing of the candidates (the stream lock held); remembers and answers the pick. */
        private int timeCandidates(String key, MemorySegment results, int found, Timing timing) {
            double[] best = new double[found];
            java.util.Arrays.fill(best, Double.POSITIVE_INFINITY);
            CudaDriver driver = timing.driver();
            MemorySegment start = driver.createEvent(), end = driver.createEvent();
            try {
                for (int i = 0; i < found; i++) {
                    MemorySegment r = results.asSlice(i * HEURISTIC_RESULT_BYTES, HEURISTIC_RESULT_BYTES);
                    if (r.get(JAVA_INT, RESULT_STATE_OFFSET) != 0 || r.get(JAVA_LONG, RESULT_WORKSPACE_OFFSET) > WORKSPACE_BYTES) continue;
                    if (launch(r, timing.workspace(), timing.stream()) != 0) continue;   // warm-up; a refusal drops the candidate
                }
                driver.synchronize(timing.stream());
                for (int round = 0; round < SEARCH_ROUNDS; round++) {
                    for (int i = 0; i < found; i++) {
                        MemorySegment r = results.asSlice(i * HEURISTIC_RESULT_BYTES, HEURISTIC_RESULT_BYTES);
                        if (r.get(JAVA_INT, RESULT_STATE_OFFSET) != 0 || r.get(JAVA_LONG, RESULT_WORKSPACE_OFFSET) > WORKSPACE_BYTES) continue;
                        if (round > 0 && best[i] == Double.POSITIVE_INFINITY) continue;   // failed in round 0
                        driver.record(start, timing.stream());
                        boolean ok = true;
                        for (int rep = 0; rep < SEARCH_REPEATS && ok; rep++) ok = launch(r, timing.workspace(), timing.stream()) == 0;
                        driver.record(end, timing.stream());
                        float ms = driver.elapsedMillis(start, end);
                        if (ok) best[i] = Math.min(best[i], ms / SEARCH_REPEATS);
                    }
                }
            } finally {
                driver.destroyEvent(start);
                driver.destroyEvent(end);
            }
            int pick = 0;
            for (int i = 1; i < found; i++) if (best[i] < best[pick]) pick = i;
            if (best[pick] == Double.POSITIVE_INFINITY || best[pick] > SEARCH_MARGIN * best[0]) pick = 0;   // (best[0] may be +inf)
            chosen.put(key, results.asSlice(pick * HEURISTIC_RESULT_BYTES, ALGO_BYTES).toArray(JAVA_BYTE));
            if (algorithms != null) algorithms.put(diskKey(key), java.util.HexFormat.of().formatHex(chosen.get(key)));
            searched.incrementAndGet();
            if (pick != 0) improved.incrementAndGet();
            int picked = pick;
            LOG.fine(() -> "cuBLASLt search " + what + ": candidates " + java.util.Arrays.toString(best) + " ms, chose " + picked);
            return pick;
        }

        /** One cublasLtMatmul with the algorithm of heuristic result {@code result}; the cuBLAS status. */
        private int launch(MemorySegment result, long workspace, MemorySegment stream) {
            return CudaDriver.call(matmul, handle, desc, alpha, b, layoutA, a, layoutB, beta, c, layoutC, d, layoutD,
                    result, workspace, WORKSPACE_BYTES, stream);
        }

        private void setDesc(int attribute, int value) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment v = a.allocate(JAVA_INT);
                v.set(JAVA_INT, 0, value);
                check(CudaDriver.call(descSet, desc, attribute, v, 4L), "cublasLtMatmulDescSetAttribute(" + attribute + ")");
            }
        }

        private MemorySegment layout(int type, long rows, long cols, long ld, int batch, long stride) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment holder = a.allocate(ADDRESS);
                check(CudaDriver.call(layoutCreate, holder, type, rows, cols, ld), "cublasLtMatrixLayoutCreate");
                MemorySegment l = holder.get(ADDRESS, 0);
                if (batch > 1) {
                    MemorySegment c = a.allocate(JAVA_INT);
                    c.set(JAVA_INT, 0, batch);
                    check(CudaDriver.call(layoutSet, l, LAYOUT_BATCH_COUNT, c, 4L), "cublasLtMatrixLayoutSetAttribute(batch)");
                    MemorySegment s = a.allocate(JAVA_LONG);
                    s.set(JAVA_LONG, 0, stride);
                    check(CudaDriver.call(layoutSet, l, LAYOUT_STRIDED_BATCH_OFFSET, s, 8L), "cublasLtMatrixLayoutSetAttribute(stride)");
                }
                return l;
            }
        }

        /** Runs on {@code stream} with a device workspace of {@link #WORKSPACE_BYTES}. */
        void run(long workspace, MemorySegment stream) {
            int rc = CudaDriver.call(matmul, handle, desc, alpha, b, layoutA, a, layoutB, beta, c, layoutC, d, layoutD,
                    algo, workspace, WORKSPACE_BYTES, stream);
            if (rc != 0) throw new CudaException("cublasLtMatmul failed for " + what + ": status " + rc);
        }

        @Override
        public void close() {   // also from the constructor when no algorithm was found
            if (layoutA != null) CudaDriver.call(layoutDestroy, layoutA);
            if (layoutB != null) CudaDriver.call(layoutDestroy, layoutB);
            if (layoutC != null && layoutC != layoutD) CudaDriver.call(layoutDestroy, layoutC);
            if (layoutD != null) CudaDriver.call(layoutDestroy, layoutD);
            if (desc != null) CudaDriver.call(descDestroy, desc);
            arena.close();
        }
    }

    private static void check(int rc, String what) {
        if (rc != 0) throw new CudaException(what + " failed: cuBLAS status " + rc);
    }

    @Override
    public void close() { CudaDriver.call(destroy, handle); }
}
