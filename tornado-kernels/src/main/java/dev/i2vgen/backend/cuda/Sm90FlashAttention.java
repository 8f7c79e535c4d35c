package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Lowers attention to the Hopper flash kernels (wgmma, compute_90a): head width 64, non-causal, fp16/bf16, compute
 * capability 9.0 only. i2vgen.cuda.flashVariant = v5 (tile shape per problem) or v5w{warpgroups}k{key tile}[mb|mb2]
 * picks the kernels of {@code attention_sm90.cu}; v6 or v6w{consumer warpgroups}k{key tile}[np] the warp-specialised
 * ones of {@code attention_sm90_ws.cu} (a TMA producer warpgroup, setmaxnreg, ping-pong consumers; not measured yet).
 * Where they do not apply, the caller keeps the mma.sync kernels. Notes: docs/cuda-performance-notes.md, sections 1c
 * and 1d.
 */
final class Sm90FlashAttention {
    /**
     * The flashVariant values served here. v5w{warpgroups}k{key tile} with a barrier per tile, ..mb with mbarriers,
     * ..mb2 with mbarriers, late publishing and the rescale skipped where no max moved; v5 = the measured best per
     * shape. v6w{consumer warpgroups}k{key tile}: warp-specialised with ping-pong turns, ..np without them; v6 = a
     * first guess per shape (unmeasured).
     */
    static final Set<String> VARIANTS = Set.of("v5", "v5w3k128", "v5w2k64", "v5w3k128mb", "v5w4k64mb", "v5w3k128mb2",
            "v5w4k64mb2", "v5w2k64mb2", "v6", "v6w2k128", "v6w2k128np", "v6w2k64", "v6w3k64");
    /** The variant the callers fall back to where these kernels do not apply. */
    static final String FALLBACK = "v3m2";
    private static final int STAGES = 4;   // H9_STAGES in attention_sm90.cu
    private static final Pattern V5 = Pattern.compile("v5w(\\d)k(\\d+)(mb2?)?"), V6 = Pattern.compile("v6w(\\d)k(\\d+)(np)?");

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
     * "v6" (not measured, notes section 1d): 128-key tiles for long sequences, 64-key tiles else.
     */
    static String kernel(String variant, int lq, int lk) {
        if (!VARIANTS.contains(variant)) throw new IllegalArgumentException("not a v5/v6 flash variant: " + variant + " (known: " + VARIANTS + ")");
        boolean longSequences = (long) lq * lk >= 2048L * 2048;
        String v = switch (variant) {
            case "v5" -> longSequences ? "v5w4k64mb2" : "v5w2k64mb2";
            case "v6" -> longSequences ? "v6w2k128" : "v6w2k64";
            default -> variant;
        };
        Matcher m5 = V5.matcher(v), m6 = V6.matcher(v);
        if (m5.matches()) return "flash_sm90_d64_w" + m5.group(1) + "_k" + m5.group(2) + (m5.group(3) != null ? "_" + m5.group(3) : "");
        if (m6.matches()) return "flash_sm90_d64_ws" + m6.group(1) + "_k" + m6.group(2) + (m6.group(3) != null ? "_np" : "");
        throw new IllegalArgumentException("not a v5/v6 flash variant: " + variant);
    }

    /** Whether a kernel of {@link #kernel} is a warp-specialised one (attention_sm90_ws.cu). */
    static boolean warpSpecialized(String kernel) { return kernel.startsWith("flash_sm90_d64_ws"); }

    /** The kernel family (.cu resource) that builds {@code kernel}. */
    static String family(String kernel) { return warpSpecialized(kernel) ? "attention_sm90_ws" : "attention_sm90"; }

    /** The kernel family of a variant (its kernels for any shape come from one family). */
    static String familyOf(String variant) { return family(kernel(variant, 2048, 2048)); }

    /**
     * Dynamic shared memory of one v5 block: 1024 bytes of alignment slack, the Q tile, a ring of STAGES K and V tiles of
     * 128-byte rows, two mbarriers per stage.
     */
    static int sharedBytes(int warpgroups, int keyTile) {
        return 1024 + (64 * warpgroups + 2 * STAGES * keyTile) * 128 + 16 * STAGES;
    }

    /** The K and V ring depth of the warp-specialised kernels (STAGES of their H6_KERNEL lines). */
    static int warpSpecializedStages(int keyTile) { return keyTile == 128 ? 4 : 6; }

    /**
     * Dynamic shared memory of one warp-specialised block (h6_smem): 1024 bytes of alignment slack, the Q tile, rings of
     * K and V tiles, mbarriers q_full, k_full/k_empty/v_full/v_empty per stage, done.
     */
    static int warpSpecializedSharedBytes(int consumerWarpgroups, int keyTile) {
        int stages = warpSpecializedStages(keyTile);
        return 1024 + (64 * consumerWarpgroups + 2 * stages * keyTile) * 128 + 8 * (4 * stages + 2);
    }

    /** One launch: q, k, v, out device pointers (16-byte aligned) with row strides ld* in elements. */
    static void lower(TaskLowering base, String variant, long q, long k, long v, long out, int batch, int lq, int lk, int heads,
                      int ldq, int ldk, int ldv, int ldo, float scale) {
        String name = kernel(variant, lq, lk);   // flash_sm90_d64_w{warpgroups}_k{key tile}[_mb..] or .._ws{warpgroups}_k{key tile}[_np]
        boolean ws = warpSpecialized(name);
        String[] parts = name.split("_");
        int warpgroups = Integer.parseInt(parts[3].substring(ws ? 2 : 1)), keyTile = Integer.parseInt(parts[4].substring(1)), rows = 64 * warpgroups;
        long blocks = (long) batch * heads * ((lq + rows - 1) / rows);
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("attention grid of " + blocks + " blocks is too large");
        int shared = ws ? warpSpecializedSharedBytes(warpgroups, keyTile) : sharedBytes(warpgroups, keyTile);
        CudaBackend backend = base.backend;
        MemorySegment f = backend.kernels.function(family(name), name, base.act);
        backend.driver.setMaxDynamicSharedMemory(f, shared);
        KernelLaunch.Args args = base.args().ptr(q).ptr(k).ptr(v).ptr(out).i32(lq).i32(lk).i32(heads).i32(ldq).i32(ldk).i32(ldv).i32(ldo)
                .f32((float) (scale / Math.log(2)));
        if (ws) {   // + TMA maps of q (a block's query rows per copy), k and v (a key tile per copy)
            try (Arena a = Arena.ofConfined()) {
                args.bytes(new HeadRowsTensorMap(q, batch, lq, heads, ldq, rows, base.act).encode(backend.driver, a))
                        .bytes(new HeadRowsTensorMap(k, batch, lk, heads, ldk, keyTile, base.act).encode(backend.driver, a))
                        .bytes(new HeadRowsTensorMap(v, batch, lk, heads, ldv, keyTile, base.act).encode(backend.driver, a));
            }
        }
        // v6: one producer warpgroup more
        KernelLaunch l = KernelLaunch.of(name, f, (int) blocks, 1, (warpgroups + (ws ? 1 : 0)) * 128, shared, args);
        base.plan.addStep(l.name(), stream -> l.run(backend.driver, stream));
    }
}
