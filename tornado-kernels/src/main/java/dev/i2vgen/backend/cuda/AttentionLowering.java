package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Attention;
import dev.i2vgen.tensor.DType;

import java.lang.foreign.MemorySegment;

/**
 * Lowers Attention: the tensor-core flash kernels (attention_flash.cuh), a chunked GEMM path, a thread per query for
 * heads of at most 16 values, or the exact fp32 kernel.
 */
final class AttentionLowering {
    private static final int ATT_WARPS = 8, ATT_TILE = 32, ATT_MAX_DV = 512;
    private static final String FLASH_WIDE = "8x64";   // measured best of 4x64/8x64/4x128/8x128 (docs/cuda-performance-notes.md)
    /**
     * Kernel family for long sequences (property i2vgen.cuda.flashVariant): v2 flash_attention_*, v3m1 / v3m2
     * flash_lean_* (lean softmax, 1 or 2 16-row tiles per warp), v4m1 / v4m2 flash_pipe_* (the same, software-
     * pipelined over key tiles). Notes, section 1b: v3m2 measured 1.6x faster than v2 on the H100 (spatial
     * self-attention 37.7 -> 23.0 ms; cross-attention to 77 keys 0.54 -> 0.41 ms); v4 is no faster than v3.
     * v5 (default): the Hopper wgmma kernels of {@link Sm90FlashAttention} where they apply (compute capability 9.0,
     * d = 64, non-causal; notes section 1c: spatial 23.0 -> 18.0 ms), else v3m2. v6 (experimental, notes section 1d):
     * the warp-specialised TMA kernels of the same class, where v5 would run.
     */
    private static final String FLASH_VARIANT = "v5";
    /** The flash-attention family the settings choose: {@code -Di2vgen.cuda.flashVariant}, else {@link #FLASH_VARIANT}. */
    static String flashVariant() { return System.getProperty("i2vgen.cuda.flashVariant", FLASH_VARIANT); }

    private static final java.util.Set<String> FLASH_VARIANTS = java.util.Set.of("v2", "v3m1", "v3m2", "v4m1", "v4m2");
    private static final java.util.Set<Integer> FLASH_HEAD_DIMS = java.util.Set.of(64, 80, 128);
    /** Bound on the score scratch of the chunked GEMM attention (property for tests that want many chunks). */
    private static long scoreChunkBytes() { return Long.getLong("i2vgen.cuda.attentionScoreBytes", 128L << 20); }
    /** attention.cu's ATT_SMALL_D: the widest head of attention_small; keys up to SMALL_MAX_KEYS (a loop per thread). */
    static final int SMALL_HEAD = 16, SMALL_MAX_KEYS = 256;
    /**
     * -Di2vgen.cuda.smallHeadAttention=true: heads of at most SMALL_HEAD values take attention_small. Opt-in until it
     * has run on a GPU (docs/cuda-performance-notes.md, section 24); off, the exact warp-per-query kernel.
     */
    static boolean smallHeadsByProperty() { return "true".equals(System.getProperty("i2vgen.cuda.smallHeadAttention")); }

    private final TaskLowering base;
    private final CudaExecutionPlan plan;
    private final CudaBackend backend;
    private final DType act;
    private final TaskScratch scratch;

    AttentionLowering(TaskLowering base) {
        this.base = base;
        this.plan = base.plan;
        this.backend = base.backend;
        this.act = base.act;
        this.scratch = base.scratch;
    }

    /**
     * fp16/bf16: the tensor-core flash kernel for head widths 64/80/128, a chunked GEMM path for one wide
     * head (the VAE mid-block: 512), else (and always in fp32, for conformance) the exact fp32 kernel.
     */
    void attention(Task t, Attention a) {
        Value q = t.input(0), k = t.input(1), v = t.input(2), out = t.output();
        int heads = a.heads(), dk = q.dim(2) / heads, dv = v.dim(2) / heads;
        int lq = q.dim(1), lk = k.dim(1), batch = q.dim(0);
        // q, k, v may be column blocks of one fused projection output (QkvFusion): rows ld elements apart
        QkvFusion.Group fused = plan.projections.forAttention(t.index());
        long qp = rows(fused, q), kp = rows(fused, k), vp = rows(fused, v), op = base.ptr(out);
        int ldq = ld(fused, q), ldk = ld(fused, k), ldv = ld(fused, v), ldo = heads * dv;
        boolean dense = ldq == heads * dk && ldk == heads * dk && ldv == heads * dv;
        boolean lowPrecision = act != DType.F32;
        if (lowPrecision && dk == dv && FLASH_HEAD_DIMS.contains(dk) && (heads * dk) % 8 == 0 && ldk == ldv
                && ((ldq | ldk) & 7) == 0 && ((qp | kp | vp | op) & 15) == 0) {
            flashAttention(qp, kp, vp, op, batch, lq, lk, heads, dk, a, ldq, ldk, ldo);
            return;
        }
        if (lowPrecision && heads == 1 && !a.causal() && dk > 128 && dense) {   // (readsStridedRows keeps strided rows away)
            chunkedGemmAttention(qp, kp, vp, op, batch, lq, lk, dk, dv, a.scale());
            return;
        }
        long queries = (long) batch * heads * lq;
        if (dk <= SMALL_HEAD && dv <= SMALL_HEAD && lk <= SMALL_MAX_KEYS && smallHeadsByProperty() && (queries + 255) / 256 <= Integer.MAX_VALUE) {
            KernelLaunch l = KernelLaunch.of("attention_small", backend.kernels.function("attention", "attention_small", act),
                    (int) ((queries + 255) / 256), 1, 1, 256, 0, base.args().ptr(qp).ptr(kp).ptr(vp).ptr(op).i32(lq).i32(lk).i32(heads)
                            .i32(dk).i32(dv).f32(a.scale()).i32(a.causal() ? 1 : 0).i64(queries).i32(ldq).i32(ldk).i32(ldv).i32(ldo));
            plan.addStep(l.name(), stream -> l.run(backend.driver, stream));
            return;
        }
        if (dv > ATT_MAX_DV) throw new IllegalArgumentException("head width " + dv + " > " + ATT_MAX_DV + " is not supported by the attention kernel");
        int shared = (ATT_TILE * (dk + 1) + ATT_TILE * dv + ATT_WARPS * dk) * 4;
        MemorySegment f = backend.kernels.function("attention", "attention", act);
        if (shared > 48 * 1024) backend.driver.setMaxDynamicSharedMemory(f, shared);
        int bh = batch * heads, gy = Math.min(bh, 65535), gz = (bh + gy - 1) / gy;
        KernelLaunch l = KernelLaunch.of("attention", f, (lq + ATT_WARPS - 1) / ATT_WARPS, gy, gz, ATT_WARPS * 32, shared,
                base.args().ptr(qp).ptr(kp).ptr(vp).ptr(op).i32(lq).i32(lk).i32(heads).i32(dk).i32(dv)
                        .f32(a.scale()).i32(a.causal() ? 1 : 0).i32(batch).i32(ldq).i32(ldk).i32(ldv).i32(ldo));
        plan.addStep(l.name(), stream -> l.run(backend.driver, stream));
    }

    /**
     * Whether the path {@link #attention} takes for these sizes reads q, k, v at any row stride (attention.cu's ld
     * arguments), so QkvFusion may hand it column blocks of one fused projection: all but the chunked GEMM path
     * (one head wider than 128 in fp16/bf16, the VAE mid-block), and nothing past the exact kernel's ATT_MAX_DV.
     * A new attention path must read strided rows or be excluded here.
     */
    static boolean readsStridedRows(DType act, int heads, int dk, int dv) {
        return dv <= ATT_MAX_DV && !(act != DType.F32 && heads == 1 && dk > 128);
    }

    /** The device address of attention operand {@code v}: in its fused projection's buffer, or its own (staged) buffer. */
    private long rows(QkvFusion.Group fused, Value v) {
        int member = fused == null ? -1 : fused.memberOf(v);
        if (member < 0) return base.operand(v);
        return base.ptr(fused.buffer()) + (long) fused.columns()[member] * act.byteSize();
    }

    /** Elements between consecutive rows of attention operand {@code v}. */
    private static int ld(QkvFusion.Group fused, Value v) {
        return fused != null && fused.memberOf(v) >= 0 ? fused.width() : v.dim(2);
    }

    /**
     * Short query sequences (the temporal attention's 16 frames) take one warp with 16-key tiles, long ones
     * {@link #FLASH_WIDE} (warps x key tile; the property i2vgen.cuda.flash, e.g. "4x64", overrides it for benchmarks),
     * or the v3/v4 kernels of {@link #FLASH_VARIANT} (key tile 64; i2vgen.cuda.flash gives their warps at d = 64).
     */
    private void flashAttention(long q, long k, long v, long out, int batch, int lq, int lk, int heads, int d, Attention a,
                                int ldq, int ldkv, int ldo) {
        boolean narrow = lq <= 32;
        String variant = flashVariant();
        if (Sm90FlashAttention.VARIANTS.contains(variant)) {   // v5*, v6*: the Hopper wgmma kernels where they apply, else v3m2
            if (Sm90FlashAttention.applies(backend, act, d, lq, lk, a.causal(), a.scale(), ldq, ldkv, ldkv, ldo)) {
                Sm90FlashAttention.lower(base, variant, q, k, v, out, batch, lq, lk, heads, ldq, ldkv, ldkv, ldo, a.scale());
                return;
            }
            variant = Sm90FlashAttention.FALLBACK;
        }
        if (!FLASH_VARIANTS.contains(variant))
            throw new IllegalArgumentException("i2vgen.cuda.flashVariant must be one of " + FLASH_VARIANTS + ", not '" + variant + "'");
        String[] wide = System.getProperty("i2vgen.cuda.flash", FLASH_WIDE).split("x");
        int warps = narrow ? 1 : Integer.parseInt(wide[0]), keyTile = narrow ? 16 : Integer.parseInt(wide[1]);
        if (d != 64 && keyTile > 64) keyTile = 64;   // 128-key tiles are built for d = 64 only
        int rows = 16 * warps, kvBuffers = 2;
        String name = "flash_attention_d" + d + "_w" + warps + "_k" + keyTile;
        if (!narrow && !variant.equals("v2")) {
            // flash_{lean|pipe}_d{d}_w{warps}_m{16-row tiles per warp}; built: d64 w4/w8 x m1/m2, d80 and d128 w8 m1
            boolean pipe = variant.startsWith("v4");
            int tiles = variant.endsWith("m2") && d == 64 ? 2 : 1;
            boolean set = System.getProperty("i2vgen.cuda.flash") != null;
            // defaults (measured, notes section 1b): m2 with 8 warps only for the long self-attention (one block per
            // SM, half the K/V re-reads: -2.5 %), else 4 (more blocks; cross-attention to 77 keys -19 %); pipelined m1
            // with 4 (3 blocks per SM at 163 registers); lean m1 with 8
            warps = d != 64 ? 8 : set ? (wide[0].equals("4") ? 4 : 8)
                    : tiles == 2 ? (lq >= 8192 && lk >= 8192 ? 8 : 4) : pipe ? 4 : 8;
            keyTile = 64;
            rows = 16 * tiles * warps;
            kvBuffers = 3;   // FA_STAGES in attention_flash.cuh
            name = "flash_" + (pipe ? "pipe" : "lean") + "_d" + d + "_w" + warps + "_m" + tiles;
        }
        long blocks = (long) batch * heads * ((lq + rows - 1) / rows);
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("attention grid of " + blocks + " blocks is too large");
        int shared = (rows + 2 * kvBuffers * keyTile) * (d + 8) * 2;
        MemorySegment f = backend.kernels.function(flashFamily(name), name, act);
        if (shared > 48 * 1024) backend.driver.setMaxDynamicSharedMemory(f, shared);
        KernelLaunch l = KernelLaunch.of(name, f, (int) blocks, 1, warps * 32, shared,
                base.args().ptr(q).ptr(k).ptr(v).ptr(out).i32(lq).i32(lk).i32(heads)
                        .f32((float) (a.scale() / Math.log(2))).i32(a.causal() ? 1 : 0).i32(ldq).i32(ldkv).i32(ldo));
        plan.addStep(l.name(), stream -> l.run(backend.driver, stream));
    }

    /**
     * The module of a flash kernel: the v2 kernels with more than one warp and the v4 ("pipe") ones are only launched
     * by non-default variants and live in {@code attention_variants.cu}; the rest (v2 w1_k16, v3 "lean") in
     * {@code attention.cu}.
     */
    static String flashFamily(String kernel) {
        boolean variants = kernel.startsWith("flash_pipe_") || (kernel.startsWith("flash_attention_") && !kernel.contains("_w1_"));
        return variants ? "attention_variants" : "attention";
    }

    /** Whether the configured variant launches kernels of {@code attention_variants} (v2 and v4: compiled ahead then). */
    static boolean variantsModuleUsed() {
        String v = flashVariant();
        return v.equals("v2") || v.startsWith("v4");
    }

    /**
     * One head wider than the flash kernel's registers allow: per chunk of query rows (all batches at once),
     * S = scale·Q Kᵀ by cuBLASLt into a bounded scratch, softmax in place, O = S V. The whole Lq × Lk score
     * matrix never exists: the scratch holds at most scoreChunkBytes().
     */
    private void chunkedGemmAttention(long q, long k, long v, long out, int batch, int lq, int lk, int dk, int dv, float scale) {
        int es = act.byteSize();
        long perRow = (long) batch * lk * es;
        int chunk = (int) Math.max(1, Math.min(lq, scoreChunkBytes() / perRow));
        long scores = scratch.take(perRow * chunk);
        for (int q0 = 0; q0 < lq; q0 += chunk) {
            int rows = Math.min(chunk, lq - q0);
            base.gemm("attention scores", rows, lk, dk, true, (long) lq * dk, (long) lk * dk, (long) rows * lk, batch, scale,
                    q + (long) q0 * dk * es, k, scores, 0);
            NormalizationLowering.softmax(base, scores, scores, (long) batch * rows, lk);
            base.gemm("attention values", rows, dv, lk, false, (long) rows * lk, (long) lk * dv, (long) lq * dv, batch, 1f,
                    scores, v, out + (long) q0 * dv * es, 0);
        }
    }
}
