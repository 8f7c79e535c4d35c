package dev.i2vgen.backend.opencl;

import dev.i2vgen.backend.opencl.OpenClExecutionPlan.Ref;
import dev.i2vgen.backend.TensorLayouts;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.*;
import dev.i2vgen.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Turns each task into prepared OpenCL launches on fixed buffers and offsets. Linear, MatMul and the
 * convolutions share one tiled GEMM kernel; convolutions go through im2col into a scratch buffer
 * (reused by every task: the queue is in order, so a task's scratch is dead when the next one starts).
 */
final class OpenClTaskLowering {
    static final int BLOCK = 64;
    private static final int GEMM_TILE = 16, RED_WG = 64, ATT_WG = 32, ATT_MAX_TILE = 32;
    private static final long IM2COL_CHUNK_BYTES = 64L << 20;

    private final OpenClExecutionPlan plan;
    private final OpenClDevice device;
    private MemorySegment scratch;
    private long scratchBytes;

    OpenClTaskLowering(OpenClExecutionPlan plan) {
        this.plan = plan;
        this.device = plan.backend().device;
    }

    void lower(Task t) {
        Value out = t.output();
        long n = out.numel();
        switch (t.op()) {
            case Unary u -> elementwise(plan.launch("elementwise", "unary").buf(in(t, 0)).buf(ref(out)).i64(n).i32(u.kind().ordinal()), n);
            case Affine a -> elementwise(plan.launch("elementwise", "affine").buf(in(t, 0)).buf(ref(out)).i64(n).f32(a.scale()).f32(a.shift()), n);
            case Clamp c -> elementwise(plan.launch("elementwise", "clamp_values").buf(in(t, 0)).buf(ref(out)).i64(n).f32(c.min()).f32(c.max()), n);
            case Binary b -> binary(t, b);
            case Geglu g -> {
                long d = out.dim(-1);
                elementwise(plan.launch("elementwise", "geglu").buf(in(t, 0)).buf(ref(out)).i64(n / d).i64(d), n);
            }
            case CfgCombine c -> elementwise(plan.launch("elementwise", "cfg_combine").buf(in(t, 0)).buf(ref(out)).i64(n).f32(c.guidance()), n);
            case DdimStep d -> {
                boolean noise = t.inputs().size() > 3 && t.input(3) != null;
                elementwise(plan.launch("elementwise", "ddim_step").buf(in(t, 0)).buf(in(t, 1)).buf(in(t, 2))
                        .buf(noise ? in(t, 3) : in(t, 0)).i32(noise ? 1 : 0).buf(ref(out)).i64(n), n);
            }
            case LinearCombination lc -> linearCombination(t);
            case NonFiniteFlag f -> {
                // the previous flag copied, then the scan over x (elementwise.cl)
                elementwise(plan.launch("elementwise", "nonfinite_flag_seed").buf(in(t, 1)).buf(ref(out)), 1);
                long count = t.input(0).numel();
                elementwise(plan.launch("elementwise", "nonfinite_flag_scan").buf(in(t, 0)).buf(in(t, 1)).buf(in(t, 2)).buf(ref(out))
                        .i64(count), count);
            }
            case Cast c -> {
                boolean integer = !c.target().isFloating();
                elementwise(plan.launch("elementwise", "cast_values").buf(in(t, 0)).buf(ref(out)).i64(n).i32(integer ? 1 : 0), n);
            }
            case LayerNorm ln -> {
                long d = out.dim(-1);
                reduction(plan.launch("normalization", "layer_norm").buf(in(t, 0)).buf(in(t, 1)).buf(in(t, 2)).buf(ref(out))
                        .i64(d).f32(ln.eps()), n / d);
            }
            case GroupNorm gn -> {
                // [n, mid, channels, inner]: mid = 1 for channels on axis 1, the frames of a frame-major video for axis 2
                int images = out.dim(0), c = out.dim(gn.channelAxis());
                long mid = 1;
                for (int i = 1; i < gn.channelAxis(); i++) mid *= out.dim(i);
                long inner = n / ((long) images * mid * c);
                reduction(plan.launch("normalization", "group_norm").buf(in(t, 0)).buf(in(t, 1)).buf(in(t, 2)).buf(ref(out))
                        .i32(c).i32(gn.groups()).i64(inner).i64(mid).f32(gn.eps()).i32(gn.silu() ? 1 : 0), (long) images * gn.groups());
            }
            case Softmax s -> {
                long d = out.dim(-1);
                reduction(plan.launch("normalization", "softmax").buf(in(t, 0)).buf(ref(out)).i64(d), n / d);
            }
            case TimestepEmbedding te -> elementwise(plan.launch("layout", "timestep_embedding").buf(in(t, 0)).buf(ref(out))
                    .i32(out.dim(0)).i32(te.dim()).i32(te.flipSinToCos() ? 1 : 0).f32(te.downscaleFreqShift()).f32(te.scale())
                    .f32((float) -Math.log(te.maxPeriod())), n);
            case Embedding e -> {
                Value table = t.input(0), ids = t.input(1);
                elementwise(plan.launch("layout", "embedding").buf(in(t, 0)).buf(ref(ids)).buf(ref(out))
                        .i64(ids.numel()).i64(table.dim(0)).i64(table.dim(1)), n);
            }
            case Concat c -> concat(t, c);
            case Slice s -> slice(t, s);
            case Permute p -> permute(t, p);
            case UpsampleNearest u -> {
                Value x = t.input(0);
                elementwise(plan.launch("layout", "upsample_nearest").buf(ref(x)).buf(ref(out)).i64((long) x.dim(0) * x.dim(1))
                        .i32(x.dim(2)).i32(x.dim(3)).i32(u.outH()).i32(u.outW()), n);
            }
            case Linear l -> {
                Value x = t.input(0), w = t.input(1);
                int k = x.dim(-1), cols = w.dim(0);
                long rows = x.numel() / k;
                Value bias = t.inputs().size() > 2 ? t.input(2) : null;
                gemm(ref(x), ref(w), ref(out), bias == null ? ref(out) : ref(bias), bias == null ? 0 : 1,
                        checkedInt(rows, "linear rows"), cols, k, true, 0, 0, 0, 1, 1f);
            }
            case MatMul mm -> {
                Value a = t.input(0), b = t.input(1);
                int m = a.dim(-2), k = a.dim(-1), cols = mm.transposeB() ? b.dim(-2) : b.dim(-1);
                long batch = a.numel() / ((long) m * k);
                gemm(ref(a), ref(b), ref(out), ref(out), 0, m, cols, k, mm.transposeB(), (long) m * k,
                        b.rank() == 2 ? 0 : (long) k * cols, (long) m * cols, checkedInt(batch, "matmul batch"), mm.alpha());
            }
            case Conv2d c -> {
                Value x = t.input(0), w = t.input(1);
                Value bias = t.inputs().size() > 2 ? t.input(2) : null;
                conv(ref(x), x.dim(0), x.dim(1), x.dim(2), x.dim(3), ref(w), w.dim(0), w.dim(2), w.dim(3),
                        c.strideH(), c.strideW(), c.padTop(), c.padLeft(), out.dim(2), out.dim(3), bias == null ? null : ref(bias), ref(out));
            }
            case TemporalConv tc when tc.framesFirst() -> {
                // [B, F, C, H*W] → [B, F, O, H*W] straight from x (gemm.cl temporal_conv_frames), + the residual if given
                Value x = t.input(0), w = t.input(1), bias = t.input(2), residual = t.input(3);
                elementwise(plan.launch("gemm", "temporal_conv_frames").buf(ref(x)).buf(ref(w)).buf(bias == null ? ref(out) : ref(bias))
                        .buf(residual == null ? ref(out) : ref(residual)).buf(ref(out)).i32(bias == null ? 0 : 1).i32(residual == null ? 0 : 1)
                        .i32(x.dim(1)).i32(x.dim(2)).i32(w.dim(0)).i32(w.dim(2)).i64((long) x.dim(3) * x.dim(4)).i64(n), n);
            }
            case TemporalConv tc -> {
                // a (k x 1) 2-D convolution over [B, C, F, H*W]
                Value x = t.input(0), w = t.input(1);
                Value bias = t.inputs().size() > 2 ? t.input(2) : null;
                int k = w.dim(2), pad = (k - 1) / 2, hw = x.dim(3) * x.dim(4);
                conv(ref(x), x.dim(0), x.dim(1), x.dim(2), hw, ref(w), w.dim(0), k, 1, 1, 1, pad, 0, x.dim(2), hw,
                        bias == null ? null : ref(bias), ref(out));
            }
            case Attention a -> attention(t, a);
            default -> throw new UnsupportedOperationException("op " + t.op().name() + " (" + t.op().getClass().getSimpleName() + ") has no OpenCL kernel");
        }
    }

    // ---- helpers ----

    private Ref ref(Value v) { return plan.ref(v); }

    private Ref in(Task t, int i) { return plan.ref(t.input(i)); }

    private static int checkedInt(long v, String what) {
        if (v > Integer.MAX_VALUE) throw new IllegalArgumentException(what + " = " + v + " exceeds the kernels' 32-bit sizes");
        return (int) v;
    }

    private void elementwise(OpenClLaunch.Builder b, long n) {
        plan.addStep(b.build(new long[]{n}, new long[]{BLOCK}));
    }

    /** One work-group of RED_WG work-items per row. */
    private void reduction(OpenClLaunch.Builder b, long rows) {
        plan.addStep(b.build(new long[]{rows * RED_WG}, new long[]{RED_WG}));
    }

    /** A small table of longs in a buffer of its own (dims and strides of broadcasting and permutes). */
    private MemorySegment table(long... values) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(JAVA_LONG, values.length);
            for (int i = 0; i < values.length; i++) host.setAtIndex(JAVA_LONG, i, values[i]);
            MemorySegment b = plan.upload(host);
            plan.backend().cl.finish(plan.backend().queue);   // the host table dies with this arena
            return b;
        }
    }

    /** Coefficients, k, then the fixed term slots of elementwise.cl's linear_combination (past k: term 0 again, not read). */
    private void linearCombination(Task t) {
        int k = t.inputs().size() - 1;
        OpenClLaunch.Builder b = plan.launch("elementwise", "linear_combination").buf(in(t, 0)).i32(k);
        for (int i = 0; i < LinearCombination.MAX_TERMS; i++) b.buf(in(t, 1 + (i < k ? i : 0)));
        long n = t.output().numel();
        elementwise(b.buf(ref(t.output())).i64(n), n);
    }

    private void binary(Task t, Binary b) {
        Value x = t.input(0), y = t.input(1), out = t.output();
        int rank = out.rank();
        long[] layout = new long[1 + 3 * rank];
        layout[0] = rank;
        long[] sx = TensorLayouts.broadcastStrides(x.shape(), rank), sy = TensorLayouts.broadcastStrides(y.shape(), rank);
        for (int i = 0; i < rank; i++) {
            layout[1 + i] = out.dim(i);
            layout[1 + rank + i] = sx[i];
            layout[1 + 2 * rank + i] = sy[i];
        }
        elementwise(plan.launch("elementwise", "binary").buf(ref(x)).buf(ref(y)).buf(ref(out)).mem(table(layout))
                .i64(out.numel()).i32(b.kind().ordinal()), out.numel());
    }

    private void concat(Task t, Concat c) {
        List<Value> parts = t.inputs();
        List<TensorLayouts.RowCopy> rows = TensorLayouts.concatRows(t.output().shape(), parts.stream().map(Value::shape).toList(), c.axis());
        for (int i = 0; i < parts.size(); i++) copyRows(ref(parts.get(i)), ref(t.output()), rows.get(i));
    }

    private void slice(Task t, Slice s) {
        Value x = t.input(0);
        copyRows(ref(x), ref(t.output()), TensorLayouts.sliceRows(x.shape(), s.axis(), s.start(), s.end()));
    }

    private void copyRows(Ref src, Ref dst, TensorLayouts.RowCopy r) {
        elementwise(plan.launch("layout", "copy_rows").buf(src).i64(r.srcRow()).i64(r.srcOffset()).buf(dst).i64(r.dstRow()).i64(r.dstOffset())
                .i64(r.rows()).i64(r.length()), r.rows() * r.length());
    }

    private void permute(Task t, Permute p) {
        Value x = t.input(0), out = t.output();
        int rank = out.rank();
        long[] strides = TensorLayouts.permutedStrides(x.shape(), p.perm());
        long[] layout = new long[1 + 2 * rank];
        layout[0] = rank;
        for (int i = 0; i < rank; i++) {
            layout[1 + i] = out.dim(i);
            layout[1 + rank + i] = strides[i];
        }
        elementwise(plan.launch("layout", "permute").buf(ref(x)).buf(ref(out)).mem(table(layout)).i64(out.numel()), out.numel());
    }

    /** C = alpha · A · op(B) (+ bias per column when biasMode 1, per row when 2), batched by the third grid axis. */
    private void gemm(Ref a, Ref b, Ref c, Ref bias, int biasMode, int m, int n, int k, boolean transposeB,
                      long strideA, long strideB, long strideC, int batch, float alpha) {
        OpenClLaunch.Builder l = plan.launch("gemm", "gemm").buf(a).buf(b).buf(c).buf(bias).i32(m).i32(n).i32(k).i32(transposeB ? 1 : 0)
                .i64(strideA).i64(strideB).i64(strideC).f32(alpha).i32(biasMode);
        plan.addStep(l.build(new long[]{n, m, batch}, new long[]{GEMM_TILE, GEMM_TILE, 1}));
    }

    /** A scratch region of {@code bytes} at offset 0, valid until the next task. */
    private Ref scratch(long bytes) {
        if (bytes > scratchBytes) {
            scratch = plan.allocate(bytes);   // the old one stays: launches prepared earlier point into it
            scratchBytes = bytes;
        }
        return new Ref(scratch, 0);
    }

    /** im2col over chunks of images into the scratch, then per chunk out[img] = W[O, C·kh·kw] · col[img] + bias. */
    private void conv(Ref x, int images, int c, int h, int w, Ref weight, int o, int kh, int kw,
                      int strideH, int strideW, int padT, int padL, int oh, int ow, Ref bias, Ref out) {
        long kdim = (long) c * kh * kw, pixels = (long) oh * ow;
        long perImage = kdim * pixels * 4;
        int chunk = (int) Math.max(1, Math.min(images, IM2COL_CHUNK_BYTES / Math.max(1, perImage)));
        if (perImage * chunk > device.maxAllocBytes()) {
            throw new IllegalArgumentException("convolution needs an im2col buffer of " + perImage + " bytes per image; "
                    + device.name() + " allows " + device.maxAllocBytes() + " per buffer");
        }
        Ref col = scratch(perImage * chunk);
        for (int n0 = 0; n0 < images; n0 += chunk) {
            int count = Math.min(chunk, images - n0);
            Ref xs = new Ref(x.buffer(), x.offset() + (long) n0 * c * h * w);
            Ref os = new Ref(out.buffer(), out.offset() + (long) n0 * o * pixels);
            elementwise(plan.launch("layout", "im2col").buf(xs).buf(col).i32(count).i32(c).i32(h).i32(w).i32(kh).i32(kw)
                    .i32(strideH).i32(strideW).i32(padT).i32(padL).i32(oh).i32(ow), count * kdim * pixels);
            gemm(weight, col, os, bias == null ? os : bias, bias == null ? 0 : 2, o, checkedInt(pixels, "conv pixels"),
                    checkedInt(kdim, "conv C*kh*kw"), false, 0, kdim * pixels, o * pixels, count, 1f);
        }
    }

    /** Key tiles as large as the device's local memory allows (at most 32 keys). */
    private void attention(Task t, Attention a) {
        Value q = t.input(0), k = t.input(1), v = t.input(2), out = t.output();
        int heads = a.heads(), dk = q.dim(2) / heads, dv = v.dim(2) / heads;
        int lq = q.dim(1), lk = k.dim(1), batch = q.dim(0);
        long perKey = (long) (dk + dv) * 4;
        int tile = (int) Math.min(ATT_MAX_TILE, (device.localMemBytes() - 1024) / perKey);
        if (tile < 1) {
            throw new IllegalArgumentException("attention head widths " + dk + "/" + dv + " do not fit one key in the "
                    + device.localMemBytes() + " bytes of local memory of " + device.name());
        }
        OpenClLaunch.Builder l = plan.launch("attention", "attention").buf(ref(q)).buf(ref(k)).buf(ref(v)).buf(ref(out))
                .i32(lq).i32(lk).i32(heads).i32(dk).i32(dv).f32(a.scale()).i32(a.causal() ? 1 : 0).i32(tile)
                .local((long) tile * dk * 4).local((long) tile * dv * 4);
        plan.addStep(l.build(new long[]{lq, (long) batch * heads}, new long[]{ATT_WG, 1}));
    }
}
