package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * Lowers attention to the Hopper flash kernels of {@code attention_sm90.cu} (wgmma, compute_90a): head width 64,
 * non-causal, fp16/bf16, compute capability 9.0 only, chosen by i2vgen.cuda.flashVariant = v5 (tile shape per
 * problem) or v5w{warpgroups}k{key tile}[mb|mb2] (one kernel, for benchmarks). Where it does not apply, the caller keeps
 * the mma.sync kernels. Notes: docs/cuda-performance-notes.md, section 1c.
 */
final class Sm90FlashAttention {
    /**
     * The flashVariant values served here: v5w{warpgroups}k{key tile} with a barrier per tile, ..mb with mbarriers,
     * ..mb2 with mbarriers, late publishing and the rescale skipped where no max moved (the kernels built in
     * attention_sm90.cu), v5 = the measured best per shape.
     */
    static final Set<String> VARIANTS = Set.of("v5", "v5w3k128", "v5w2k64", "v5w3k128mb", "v5w4k64mb", "v5w3k128mb2",
            "v5w4k64mb2", "v5w2k64mb2");
    /** The variant the callers fall back to where these kernels do not apply. */
    static final String FALLBACK = "v3m2";
    private static final int STAGES = 4;   // H9_STAGES in attention_sm90.cu

    private Sm90FlashAttention() {}

    /**
     * Whether the kernels serve this problem: Hopper, 16-bit storage, d = 64, no mask, a positive scale (the row max
     * is taken before scaling), at least one key, more than 32 queries (the temporal attention's 16 frames keep the
     * one-warp kernel: a 64-row warpgroup tile would be 75 % padding), rows of whole 16-byte chunks.
     */
    static boolean applies(CudaBackend backend, DType act, int d, int lq, int lk, boolean causal, float scale,
                           int ldq, int ldk, int ldv, int ldo) {
        return backend.ccMajor == 9 && backend.ccMinor == 0 && (act == DType.F16 || act == DType.BF16) && d == 64
                && !causal && scale > 0 && Float.isFinite(scale) && lk >= 1 && lq > 32
                && ldq % 8 == 0 && ldk % 8 == 0 && ldv % 8 == 0 && ldo % 8 == 0;
    }

    /**
     * The kernel of a variant. "v5" (measured, notes section 1c): 4 warpgroups x 64-key tiles with mbarriers for
     * long sequences (spatial self-attention at 14,080 and 3,520 tokens: 1.28x v3m2), else 2 warpgroups, two blocks
     * per SM (880 and 220 tokens, cross-attention to 77 keys: 1.08-1.17x; 256-row blocks leave too few of them).
     */
    static String kernel(String variant, int lq, int lk) {
        if (!VARIANTS.contains(variant)) throw new IllegalArgumentException("not a v5 flash variant: " + variant + " (known: " + VARIANTS + ")");
        String v = !variant.equals("v5") ? variant : (long) lq * lk >= 2048L * 2048 ? "v5w4k64mb2" : "v5w2k64mb2";
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("v5w(\\d)k(\\d+)(mb2?)?").matcher(v);
        if (!m.matches()) throw new IllegalArgumentException("not a v5 flash variant: " + variant);
        return "flash_sm90_d64_w" + m.group(1) + "_k" + m.group(2) + (m.group(3) != null ? "_" + m.group(3) : "");
    }

    /**
     * Dynamic shared memory of one block: 1024 bytes of alignment slack, the Q tile, a ring of STAGES K and V tiles of
     * 128-byte rows, two mbarriers per stage.
     */
    static int sharedBytes(int warpgroups, int keyTile) {
        return 1024 + (64 * warpgroups + 2 * STAGES * keyTile) * 128 + 16 * STAGES;
    }

    /** One launch: q, k, v, out device pointers (16-byte aligned) with row strides ld* in elements. */
    static void lower(TaskLowering base, String variant, long q, long k, long v, long out, int batch, int lq, int lk, int heads,
                      int ldq, int ldk, int ldv, int ldo, float scale) {
        String name = kernel(variant, lq, lk);   // flash_sm90_d64_w{warpgroups}_k{key tile}[_mb]
        String[] parts = name.split("_");
        int warpgroups = Integer.parseInt(parts[3].substring(1)), keyTile = Integer.parseInt(parts[4].substring(1)), rows = 64 * warpgroups;
        long blocks = (long) batch * heads * ((lq + rows - 1) / rows);
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("attention grid of " + blocks + " blocks is too large");
        int shared = sharedBytes(warpgroups, keyTile);
        CudaBackend backend = base.backend;
        MemorySegment f = backend.kernels.function("attention_sm90", name, base.act);
        backend.driver.setMaxDynamicSharedMemory(f, shared);
        KernelLaunch l = KernelLaunch.of(name, f, (int) blocks, 1, warpgroups * 128, shared,
                base.args().ptr(q).ptr(k).ptr(v).ptr(out).i32(lq).i32(lk).i32(heads).i32(ldq).i32(ldk).i32(ldv).i32(ldo)
                        .f32((float) (scale / Math.log(2))));
        base.plan.addStep(l.name(), stream -> l.run(backend.driver, stream));
    }
}
