package dev.i2vgen.backend.tornado;

import dev.i2vgen.backend.TensorLayouts;
import dev.i2vgen.backend.tornado.kernels.AttentionKernel;
import dev.i2vgen.backend.tornado.kernels.ElementwiseKernels;
import dev.i2vgen.backend.tornado.kernels.GemmKernels;
import dev.i2vgen.backend.tornado.kernels.LayoutKernels;
import dev.i2vgen.backend.tornado.kernels.NormKernels;
import dev.i2vgen.backend.tornado.kernels.RoundingKernel;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.*;
import dev.i2vgen.tensor.DType;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.WorkerGrid2D;
import uk.ac.manchester.tornado.api.WorkerGrid3D;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Turns each task into TornadoVM kernel tasks (package {@code kernels}) on fixed (array, offset) slots: the same
 * algorithms as the OpenCL backend, written in Java. Every launch gets its sizes and offsets in an int array of
 * {@link #INTS} and its float scalars in a float array of {@link #FLOATS}, so that all tasks of one kernel compile to
 * the same source (see ElementwiseKernels).
 */
final class TaskLowering {
    static final int INTS = 32, FLOATS = 8;
    private static final int BLOCK = 64;
    /** Grid-stride loops: at most this many work-items however large the tensor. */
    private static final int MAX_ELEMENTWISE_ITEMS = 1 << 22;

    private final Function<Value, TensorSlot> slots;
    private final FloatArray nan;

    /** {@code slots}: where each value of the graph lives. */
    TaskLowering(Function<Value, TensorSlot> slots) {
        this.slots = slots;
        this.nan = floats(Float.NaN);
    }

    List<KernelLaunch> lower(Task t) {
        List<KernelLaunch> out = new ArrayList<>();
        Value y = t.output();
        int n = elements(y);
        switch (t.op()) {
            case Unary u -> {
                IntArray p = ints(off(t.input(0)), off(y), n, u.kind().ordinal());
                out.add(elementwise("unary", n, data(p, t.input(0)), (g, id) -> g.task(id, ElementwiseKernels::unary, p, arr(t.input(0)), arr(y))));
            }
            case Affine a -> affineOrClamp(out, t, 0, floats(a.scale(), a.shift(), 0f, 0f));
            case Clamp c -> affineOrClamp(out, t, 1, floats(1f, 0f, c.min(), c.max()));
            case Binary b -> binary(out, t, b);
            case Geglu gg -> {
                int d = y.dim(-1);
                IntArray p = ints(off(t.input(0)), off(y), n / d, d);
                out.add(elementwise("geglu", n, data(p, t.input(0)), (g, id) -> g.task(id, ElementwiseKernels::geglu, p, arr(t.input(0)), arr(y))));
            }
            case CfgCombine c -> {
                IntArray p = ints(off(t.input(0)), off(y), n);
                FloatArray f = floats(c.guidance());
                out.add(elementwise("cfg_combine", n, data(p, f, t.input(0)),
                        (g, id) -> g.task(id, ElementwiseKernels::cfgCombine, p, f, arr(t.input(0)), arr(y))));
            }
            case DdimStep d -> {
                Value noise = t.inputs().size() > 3 ? t.input(3) : null;
                Value noiseOrX = noise != null ? noise : t.input(0);
                IntArray p = ints(off(t.input(0)), off(t.input(1)), off(t.input(2)), off(noiseOrX), noise != null ? 1 : 0, off(y), n);
                out.add(elementwise("ddim_step", n, data(p, t.input(0), t.input(1), t.input(2), noiseOrX),
                        (g, id) -> g.task(id, ElementwiseKernels::ddimStep, p, arr(t.input(0)), arr(t.input(1)), arr(t.input(2)), arr(noiseOrX), arr(y))));
            }
            case LinearCombination lc -> linearCombination(out, t);
            case NonFiniteFlag nf -> {
                Value x = t.input(0), previous = t.input(1), step = t.input(2);
                IntArray seed = ints(off(previous), off(y), 1);
                out.add(elementwise("nonfinite_flag_seed", 1, data(seed, previous),
                        (g, id) -> g.task(id, ElementwiseKernels::nonFiniteSeed, seed, arr(previous), arr(y))));
                int count = elements(x);
                IntArray scan = ints(off(x), off(previous), off(step), off(y), count);
                out.add(elementwise("nonfinite_flag_scan", count, data(scan, x, previous, step),
                        (g, id) -> g.task(id, ElementwiseKernels::nonFiniteScan, scan, arr(x), arr(previous), arr(step), arr(y))));
            }
            case Cast c -> {
                IntArray p = ints(off(t.input(0)), off(y), n, c.target().isFloating() ? 0 : 1);
                out.add(elementwise("cast", n, data(p, t.input(0)), (g, id) -> g.task(id, ElementwiseKernels::cast, p, arr(t.input(0)), arr(y))));
            }
            case LayerNorm ln -> {
                int d = y.dim(-1);
                Value x = t.input(0), gamma = t.input(1), beta = t.input(2);
                IntArray p = ints(off(x), off(gamma), off(beta), off(y), d);
                FloatArray f = floats(ln.eps());
                out.add(rows("layer_norm", n / d, data(p, f, x, gamma, beta),
                        (g, id) -> g.task(id, NormKernels::layerNorm, new KernelContext(), p, f, arr(x), arr(gamma), arr(beta), arr(y))));
            }
            case GroupNorm gn -> {
                // [n, mid, channels, inner]: mid = 1 for channels on axis 1, the frames of a frame-major video for axis 2
                int images = y.dim(0), c = y.dim(gn.channelAxis());
                int mid = 1;
                for (int i = 1; i < gn.channelAxis(); i++) mid *= y.dim(i);
                int inner = n / (images * mid * c);
                Value x = t.input(0), gamma = t.input(1), beta = t.input(2);
                IntArray p = ints(off(x), off(gamma), off(beta), off(y), c, gn.groups(), inner, mid, gn.silu() ? 1 : 0);
                FloatArray f = floats(gn.eps());
                out.add(rows("group_norm", images * gn.groups(), data(p, f, x, gamma, beta),
                        (g, id) -> g.task(id, NormKernels::groupNorm, new KernelContext(), p, f, arr(x), arr(gamma), arr(beta), arr(y))));
            }
            case Softmax s -> {
                int d = y.dim(-1);
                IntArray p = ints(off(t.input(0)), off(y), d);
                out.add(rows("softmax", n / d, data(p, t.input(0)),
                        (g, id) -> g.task(id, NormKernels::softmax, new KernelContext(), p, arr(t.input(0)), arr(y))));
            }
            case TimestepEmbedding te -> {
                IntArray p = ints(off(t.input(0)), off(y), y.dim(0), te.dim(), te.flipSinToCos() ? 1 : 0);
                // f: scale, then the frequencies, computed here as the JVM backend does (a device's float exp is
                // allowed 3 ulp, which the timestep, up to 999, turns into 1e-5 relative on NVIDIA's OpenCL)
                // (an array of its own size: one timestep-embedding task per network, so one more compile at most)
                int half = te.dim() / 2;
                FloatArray f = new FloatArray(1 + half);
                f.set(0, te.scale());
                float logPeriod = (float) -Math.log(te.maxPeriod());
                for (int j = 0; j < half; j++) f.set(1 + j, (float) Math.exp((logPeriod * j) / (half - te.downscaleFreqShift())));
                out.add(elementwise("timestep_embedding", n, data(p, f, t.input(0)),
                        (g, id) -> g.task(id, LayoutKernels::timestepEmbedding, p, f, arr(t.input(0)), arr(y))));
            }
            case Embedding e -> {
                Value table = t.input(0), ids = t.input(1);
                IntArray p = ints(off(table), off(ids), off(y), elements(ids), table.dim(0), table.dim(1));
                out.add(elementwise("embedding", n, data(p, nan, table, ids),
                        (g, id) -> g.task(id, LayoutKernels::embedding, p, nan, arr(table), arr(ids), arr(y))));
            }
            case Concat c -> {
                List<Value> parts = t.inputs();
                List<TensorLayouts.RowCopy> rows = TensorLayouts.concatRows(y.shape(), parts.stream().map(Value::shape).toList(), c.axis());
                for (int i = 0; i < parts.size(); i++) copyRows(out, parts.get(i), y, rows.get(i));
            }
            case Slice s -> copyRows(out, t.input(0), y, TensorLayouts.sliceRows(t.input(0).shape(), s.axis(), s.start(), s.end()));
            case Permute pm -> permute(out, t, pm);
            case UpsampleNearest u -> {
                Value x = t.input(0);
                IntArray p = ints(off(x), off(y), x.dim(0) * x.dim(1), x.dim(2), x.dim(3), u.outH(), u.outW());
                out.add(elementwise("upsample_nearest", n, data(p, x), (g, id) -> g.task(id, LayoutKernels::upsampleNearest, p, arr(x), arr(y))));
            }
            case Linear l -> {
                Value x = t.input(0), w = t.input(1);
                Value bias = t.inputs().size() > 2 ? t.input(2) : null;
                int k = x.dim(-1);
                gemm(out, x, w, y, bias, bias == null ? 0 : 1, elements(x) / k, w.dim(0), k, true, 0, 0, 0, 1, 1f);
            }
            case MatMul mm -> {
                Value a = t.input(0), b = t.input(1);
                int m = a.dim(-2), k = a.dim(-1), cols = mm.transposeB() ? b.dim(-2) : b.dim(-1);
                int batch = elements(a) / (m * k);
                gemm(out, a, b, y, null, 0, m, cols, k, mm.transposeB(), m * k, b.rank() == 2 ? 0 : k * cols, m * cols, batch, mm.alpha());
            }
            case Conv2d c -> {
                Value x = t.input(0), w = t.input(1);
                Value bias = t.inputs().size() > 2 ? t.input(2) : null;
                conv(out, x, x.dim(0), x.dim(1), x.dim(2), x.dim(3), w, w.dim(0), w.dim(2), w.dim(3),
                        c.strideH(), c.strideW(), c.padTop(), c.padLeft(), y.dim(2), y.dim(3), bias, y);
            }
            case TemporalConv tc when tc.framesFirst() -> {
                // [B, F, C, H*W] → [B, F, O, H*W] straight from x, + the residual if given
                Value x = t.input(0), w = t.input(1), bias = t.input(2), residual = t.input(3);
                Value biasOrY = bias == null ? y : bias, residualOrY = residual == null ? y : residual;
                IntArray p = ints(off(x), off(w), off(biasOrY), off(residualOrY), off(y), bias == null ? 0 : 1, residual == null ? 0 : 1,
                        x.dim(1), x.dim(2), w.dim(0), w.dim(2), x.dim(3) * x.dim(4), n);
                out.add(elementwise("temporal_conv_frames", n, data(p, x, w, biasOrY, residualOrY),
                        (g, id) -> g.task(id, GemmKernels::temporalConvFrames, p, arr(x), arr(w), arr(biasOrY), arr(residualOrY), arr(y))));
            }
            case TemporalConv tc -> {
                // a (k x 1) 2-D convolution over [B, C, F, H*W]
                Value x = t.input(0), w = t.input(1);
                Value bias = t.inputs().size() > 2 ? t.input(2) : null;
                int k = w.dim(2), pad = (k - 1) / 2, hw = x.dim(3) * x.dim(4);
                conv(out, x, x.dim(0), x.dim(1), x.dim(2), hw, w, w.dim(0), k, 1, 1, 1, pad, 0, x.dim(2), hw, bias, y);
            }
            case Attention a -> attention(out, t, a);
            default -> throw new UnsupportedOperationException("op " + t.op().name() + " (" + t.op().getClass().getSimpleName()
                    + ") has no TornadoVM kernel");
        }
        DType dt = y.dtype();
        if (dt == DType.F16 || dt == DType.BF16) {
            // stored at the declared precision, as the JVM backend stores it
            IntArray p = ints(off(y), n, dt == DType.F16 ? 1 : 2);
            out.add(elementwise("round_to", n, data(p), (g, id) -> g.task(id, RoundingKernel::roundTo, p, arr(y))));
        }
        return out;
    }

    // ---- ops with several launches or long parameter lists ----

    private void affineOrClamp(List<KernelLaunch> out, Task t, int clamp, FloatArray f) {
        Value x = t.input(0), y = t.output();
        int n = elements(y);
        IntArray p = ints(off(x), off(y), n, clamp);
        out.add(elementwise(clamp == 1 ? "clamp" : "affine", n, data(p, f, x),
                (g, id) -> g.task(id, ElementwiseKernels::affineOrClamp, p, f, arr(x), arr(y))));
    }

    private void binary(List<KernelLaunch> out, Task t, Binary b) {
        Value x = t.input(0), z = t.input(1), y = t.output();
        int rank = y.rank();
        long[] sx = TensorLayouts.broadcastStrides(x.shape(), rank), sz = TensorLayouts.broadcastStrides(z.shape(), rank);
        int[] p = new int[6 + 3 * rank];
        int n = elements(y);
        p[0] = off(x);
        p[1] = off(z);
        p[2] = off(y);
        p[3] = n;
        p[4] = b.kind().ordinal();
        p[5] = rank;
        for (int i = 0; i < rank; i++) {
            p[6 + i] = y.dim(i);
            p[6 + rank + i] = checkedInt(sx[i], "broadcast stride");
            p[6 + 2 * rank + i] = checkedInt(sz[i], "broadcast stride");
        }
        IntArray params = ints(p);
        out.add(elementwise("binary", n, data(params, x, z), (g, id) -> g.task(id, ElementwiseKernels::binary, params, arr(x), arr(z), arr(y))));
    }

    /** Coefficients, k, the term offsets (past k: term 0 again, not read), y, n. */
    private void linearCombination(List<KernelLaunch> out, Task t) {
        int k = t.inputs().size() - 1;
        Value c = t.input(0), y = t.output();
        Value[] terms = new Value[LinearCombination.MAX_TERMS];
        for (int i = 0; i < terms.length; i++) terms[i] = t.input(1 + (i < k ? i : 0));
        int n = elements(y);
        int[] p = new int[12];
        p[0] = off(c);
        p[1] = k;
        for (int i = 0; i < 8; i++) p[2 + i] = off(terms[i]);
        p[10] = off(y);
        p[11] = n;
        IntArray params = ints(p);
        List<Object> data = data(params, c);
        for (Value v : terms) data.addAll(data(null, v));
        out.add(elementwise("linear_combination", n, data, (g, id) -> g.task(id, ElementwiseKernels::linearCombination, params, arr(c),
                arr(terms[0]), arr(terms[1]), arr(terms[2]), arr(terms[3]), arr(terms[4]), arr(terms[5]), arr(terms[6]), arr(terms[7]), arr(y))));
    }

    private void copyRows(List<KernelLaunch> out, Value src, Value dst, TensorLayouts.RowCopy r) {
        int n = checkedInt(r.rows() * r.length(), "copied elements");
        IntArray p = ints(off(src), checkedInt(r.srcRow(), "row"), checkedInt(r.srcOffset(), "offset"), off(dst),
                checkedInt(r.dstRow(), "row"), checkedInt(r.dstOffset(), "offset"), checkedInt(r.rows(), "rows"), checkedInt(r.length(), "row length"));
        out.add(elementwise("copy_rows", n, data(p, src), (g, id) -> g.task(id, LayoutKernels::copyRows, p, arr(src), arr(dst))));
    }

    private void permute(List<KernelLaunch> out, Task t, Permute pm) {
        Value x = t.input(0), y = t.output();
        int rank = y.rank();
        long[] strides = TensorLayouts.permutedStrides(x.shape(), pm.perm());
        int[] p = new int[4 + 2 * rank];
        int n = elements(y);
        p[0] = off(x);
        p[1] = off(y);
        p[2] = n;
        p[3] = rank;
        for (int i = 0; i < rank; i++) {
            p[4 + i] = y.dim(i);
            p[4 + rank + i] = checkedInt(strides[i], "permuted stride");
        }
        IntArray params = ints(p);
        out.add(elementwise("permute", n, data(params, x), (g, id) -> g.task(id, LayoutKernels::permute, params, arr(x), arr(y))));
    }

    /** C = alpha · A · op(B) (+ bias per column when biasMode 1, per row when 2), batched by the grid's third axis. */
    private void gemm(List<KernelLaunch> out, Value a, Value b, Value c, Value bias, int biasMode, int m, int n, int k,
                      boolean transposeB, int strideA, int strideB, int strideC, int batch, float alpha) {
        if (m == 0 || n == 0 || batch == 0) return;
        Value biasOrC = bias == null ? c : bias;
        IntArray p = ints(off(a), off(b), off(biasOrC), off(c), m, n, k, transposeB ? 1 : 0, strideA, strideB, strideC, biasMode);
        FloatArray f = floats(alpha);
        int tile = GemmKernels.TILE;
        WorkerGrid grid = new WorkerGrid3D(roundUp(n, tile), roundUp(m, tile), batch);
        grid.setLocalWork(tile, tile, 1);
        out.add(new KernelLaunch("gemm", grid, data(p, f, a, b, biasOrC),
                (g, id) -> g.task(id, GemmKernels::gemm, new KernelContext(), p, f, arr(a), arr(b), arr(biasOrC), arr(c))));
    }

    /** out[img] = W[O, C·kh·kw] · col(x[img]) + bias, one image per grid z. */
    private void conv(List<KernelLaunch> out, Value x, int images, int c, int h, int w, Value weight, int o, int kh, int kw,
                      int strideH, int strideW, int padT, int padL, int oh, int ow, Value bias, Value y) {
        if (images == 0 || o == 0 || oh * ow == 0) return;
        Value biasOrY = bias == null ? y : bias;
        IntArray p = ints(off(x), off(weight), off(biasOrY), off(y), bias == null ? 0 : 1, c, h, w, o, kh, kw, strideH, strideW,
                padT, padL, oh, ow);
        int tile = GemmKernels.TILE;
        WorkerGrid grid = new WorkerGrid3D(roundUp(checkedInt((long) oh * ow, "conv pixels"), tile), roundUp(o, tile), images);
        grid.setLocalWork(tile, tile, 1);
        out.add(new KernelLaunch("conv2d", grid, data(p, x, weight, biasOrY),
                (g, id) -> g.task(id, GemmKernels::conv2d, new KernelContext(), p, arr(x), arr(weight), arr(biasOrY), arr(y))));
    }

    /** Key tiles as large as the kernel's local arrays allow (at most 32 keys). */
    private void attention(List<KernelLaunch> out, Task t, Attention a) {
        Value q = t.input(0), k = t.input(1), v = t.input(2), y = t.output();
        int heads = a.heads(), dk = q.dim(2) / heads, dv = v.dim(2) / heads;
        int lq = q.dim(1), lk = k.dim(1), batch = q.dim(0);
        int tile = Math.min(AttentionKernel.MAX_TILE, AttentionKernel.LOCAL_FLOATS / Math.max(dk, dv));
        if (tile < 1) {
            throw new IllegalArgumentException("attention head widths " + dk + "/" + dv + " exceed the kernel's local tiles of "
                    + AttentionKernel.LOCAL_FLOATS + " floats");
        }
        if (lq == 0 || batch == 0) return;
        IntArray p = ints(off(q), off(k), off(v), off(y), lq, lk, heads, dk, dv, a.causal() ? 1 : 0, tile);
        FloatArray f = floats(a.scale());
        WorkerGrid grid = new WorkerGrid2D(roundUp(lq, AttentionKernel.ROWS), batch * heads);
        grid.setLocalWork(AttentionKernel.ROWS, 1, 1);
        out.add(new KernelLaunch("attention", grid, data(p, f, q, k, v),
                (g, id) -> g.task(id, AttentionKernel::attention, new KernelContext(), p, f, arr(q), arr(k), arr(v), arr(y))));
    }

    /** A plain copy of n floats from the start of {@code src} into {@code dst} (an input's staging array into the arena). */
    static KernelLaunch copy(FloatArray src, TensorSlot dst, int n) {
        IntArray p = ints(0, dst.offset(), n);
        FloatArray target = dst.array();
        return elementwise("copy", n, List.of(p), (g, id) -> g.task(id, LayoutKernels::copy, p, src, target));
    }

    // ---- helpers ----

    /** A grid-stride {@code @Parallel} kernel over n elements (no launch for an empty tensor). */
    private static KernelLaunch elementwise(String kernel, int n, List<Object> data, KernelLaunch.Adder adder) {
        WorkerGrid grid = new WorkerGrid1D(Math.min(roundUp(Math.max(n, 1), BLOCK), MAX_ELEMENTWISE_ITEMS));
        grid.setLocalWork(BLOCK, 1, 1);
        return new KernelLaunch(kernel, grid, data, adder);
    }

    /** One work-group of NormKernels.GROUP work-items per row. */
    private static KernelLaunch rows(String kernel, int rows, List<Object> data, KernelLaunch.Adder adder) {
        WorkerGrid grid = new WorkerGrid1D(Math.max(rows, 1) * NormKernels.GROUP);
        grid.setLocalWork(NormKernels.GROUP, 1, 1);
        return new KernelLaunch(kernel, grid, data, adder);
    }

    /** The arrays a launch reads besides the arena: its parameters and the weights among {@code values}. */
    private List<Object> data(Object params, Object... values) {
        List<Object> out = new ArrayList<>();
        if (params != null) out.add(params);
        for (Object o : values) {
            if (o instanceof Value v) out.add(arr(v));
            else if (o != null) out.add(o);
        }
        return out;
    }

    private FloatArray arr(Value v) { return slots.apply(v).array(); }

    private int off(Value v) { return slots.apply(v).offset(); }

    static IntArray ints(int... values) {
        if (values.length > INTS) throw new IllegalArgumentException(values.length + " kernel parameters exceed " + INTS);
        IntArray a = new IntArray(INTS);
        for (int i = 0; i < values.length; i++) a.set(i, values[i]);
        return a;
    }

    static FloatArray floats(float... values) {
        FloatArray a = new FloatArray(FLOATS);
        for (int i = 0; i < values.length; i++) a.set(i, values[i]);
        return a;
    }

    private static int elements(Value v) { return checkedInt(v.numel(), "elements of " + v); }

    static int checkedInt(long v, String what) {
        if (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE) {
            throw new IllegalArgumentException(what + " = " + v + " exceeds the 32-bit indices of TornadoVM arrays");
        }
        return (int) v;
    }

    private static int roundUp(int n, int m) { return (n + m - 1) / m * m; }
}
