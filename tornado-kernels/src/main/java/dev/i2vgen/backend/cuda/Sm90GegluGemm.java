package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.util.logging.Logger;

/**
 * Lowers a {@link GegluFusion} pair to geglu_sm90.cu: one persistent launch computing the feed-forward's
 * {@code (x·W_vᵀ + b_v) ⊙ gelu(x·W_gᵀ + b_g)} straight into the Geglu's output, x and W read by TMA through two
 * descriptors made at plan build (W as uploaded: the value rows and the gate rows of a tile are two boxes). Hopper
 * (compute capability 9.0) with fp16/bf16 activations and a driver that encodes TMA descriptors only; where the kernel
 * or its descriptors cannot be set up after all (an NVRTC or JIT that builds it otherwise, a descriptor the driver
 * refuses), the pair runs as before, with a warning: cuBLASLt GEMM into task scratch (its [M, 2I] buffer was planned
 * away), then the GEGLU kernel. Notes: docs/cuda-performance-notes.md, section 20.
 */
final class Sm90GegluGemm {
    private static final Logger LOG = Logger.getLogger(Sm90GegluGemm.class.getName());

    /** Rows and output columns of one consumer tile, k per pipeline stage (G9_BM, G9_BN, G9_BK in the kernel). */
    static final int BM = 128, BN = 64, BK = 64;
    /** Pipeline stages (G9_STAGES), threads of a block (producer + two consumer warpgroups). */
    static final int STAGES = 6, THREADS = 384;
    /** Registers per thread the warpgroups hold after setmaxnreg: the producer's and each consumer's. */
    static final int PRODUCER_REGISTERS = 40, CONSUMER_REGISTERS = 232;
    static final String KERNEL = "geglu_sm90_m128n64";

    private Sm90GegluGemm() {}

    /** Whether the kernel can run on {@code backend} with {@code act} activations: Hopper, fp16/bf16, TMA descriptors. */
    static boolean supported(CudaBackend backend, DType act) {
        return backend.ccMajor == 9 && backend.ccMinor == 0 && (act == DType.F16 || act == DType.BF16) && backend.driver.hasTensorMaps();
    }

    /**
     * Whether a block launched with {@code registers} per thread (what the JIT gave the kernel) holds what the consumers'
     * setmaxnreg.inc asks once the producer's setmaxnreg.dec has returned its share; with fewer, inc would wait forever.
     * ptxas gives a kernel with setmaxnreg its launch bound's maximum (168 at 384 threads); this checks the driver's JIT did.
     */
    static boolean registersSuffice(int registers) {
        return (long) registers * THREADS >= 128L * PRODUCER_REGISTERS + 256L * CONSUMER_REGISTERS;
    }

    /** Output tiles of an [rows, half] problem. */
    static long tiles(long rows, int half) { return (rows + BM - 1) / BM * (half / BN); }

    /** Blocks of the persistent launch: one per SM, fewer when there are fewer tiles. */
    static int grid(long tiles, int multiprocessors) { return (int) Math.max(1, Math.min(tiles, multiprocessors)); }

    /**
     * Dynamic shared memory of a block: 1024 bytes of alignment slack, the stages (x tile BM × BK and the BN value plus
     * BN gate weight rows × BK, 2 bytes each), then the full / empty mbarrier of each stage and the two turn barriers.
     */
    static int sharedBytes() { return 1024 + STAGES * stageBytes() + 8 * (2 * STAGES + 2); }

    /** Bytes the TMA loads of one stage deliver (what the kernel's full barrier expects). */
    static int stageBytes() { return (BM + 2 * BN) * BK * 2; }

    /** The TMA descriptor layouts: x [rows, k] in boxes of BM rows, W [2·half, k] in boxes of BN rows, both BK wide. */
    static TensorMap2d[] tensorMaps(DType act, long x, long w, long rows, int k, int half) {
        return new TensorMap2d[]{TensorMap2d.dense(act, x, k, rows, BK, BM), TensorMap2d.dense(act, w, k, 2L * half, BK, BN)};
    }

    /** {@code bytes} (a multiple of 4) of zeros the plan owns, filled now on its build stream (done before any run). */
    private static long zeros(TaskLowering base, long bytes) {
        long p = base.plan.allocateExtra(bytes);
        base.backend.driver.fill32(p, 0, bytes / 4, base.plan.build().stream());
        return p;
    }

    /**
     * The pair's launch (or, where the kernel's registers or the TMA descriptors are not what it needs, the unfused GEMM
     * + GEGLU through task scratch).
     */
    static void lower(TaskLowering base, GegluFusion.Pair pair) {
        Value x = pair.linear().input(0), w = pair.linear().input(1), b = pair.linear().input(2);
        long xp = base.operand(x), wp = base.operand(w), out = base.ptr(pair.geglu().output());
        long rows = pair.rows();
        int k = pair.k(), half = pair.half();
        CudaBackend backend = base.backend;
        MemorySegment f;
        MemorySegment[] maps;
        try {
            f = backend.kernels.function("geglu_sm90", KERNEL, base.act);
            int registers = backend.driver.functionAttribute(f, CudaDriver.CU_FUNC_ATTRIBUTE_NUM_REGS);
            if (!registersSuffice(registers))
                throw new CudaException(KERNEL + " was built with " + registers + " registers per thread, too few for its setmaxnreg split");
            TensorMap2d[] layouts = tensorMaps(base.act, xp, wp, rows, k, half);
            maps = new MemorySegment[]{backend.driver.tensorMap(base.plan.hostArena, layouts[0]), backend.driver.tensorMap(base.plan.hostArena, layouts[1])};
        } catch (RuntimeException e) {   // CudaException (NVRTC, driver, the check), IllegalArgumentException (TensorMap2d)
            LOG.warning("linear task " + pair.linear().index() + " and its geglu run unfused: " + e.getMessage());
            base.gemms().unfusedGeglu(pair, xp, wp, b == null ? 0 : base.operand(b), out);
            return;
        }
        // the kernel always adds a bias (a branch on it cost the wgmmas their overlap): zeros where the Linear has none
        long bias = b != null ? base.operand(b) : zeros(base, 2L * half * base.act.byteSize());
        int shared = sharedBytes();
        backend.driver.setMaxDynamicSharedMemory(f, shared);
        KernelLaunch l = KernelLaunch.of(KERNEL, f, grid(tiles(rows, half), backend.multiprocessors), 1, THREADS, shared,
                base.args().bytes(maps[0]).bytes(maps[1]).ptr(bias).ptr(out).i32((int) rows).i32(half).i32(k));
        base.plan.addStep(l.name(), stream -> l.run(backend.driver, stream));
    }
}
