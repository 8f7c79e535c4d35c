package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Maps each task to its kernel, by op class, with every buffer and shape resolved once at compile
 * time; the returned closure is what the plan replays on every run.
 */
public final class KernelBinder {
    private final Function<Value, MemorySegment> buffers;

    /** {@code buffers} gives the F32 buffer of any value of the graph. */
    public KernelBinder(Function<Value, MemorySegment> buffers) { this.buffers = buffers; }

    public Runnable bind(Task t) {
        MemorySegment out = buffers.apply(t.output());
        int[] os = t.output().shape();
        long n = t.output().numel();
        MemorySegment x = buf(t, 0);
        int[] xs = t.input(0).shape();
        return switch (t.op()) {
            case Linear l -> {
                int k = xs[xs.length - 1], nOut = t.input(1).dim(0);
                long rows = t.input(0).numel() / k;
                MemorySegment w = buf(t, 1), b = buf(t, 2);
                yield () -> LinearKernel.run(x, (int) rows, k, w, nOut, b, out);
            }
            case MatMul m -> {
                MemorySegment b = buf(t, 1);
                int[] bs = t.input(1).shape();
                yield () -> MatMulKernel.run(x, xs, b, bs, m.transposeB(), m.alpha(), out);
            }
            case Conv2d c -> {
                MemorySegment w = buf(t, 1), b = buf(t, 2);
                int[] ws = t.input(1).shape();
                yield () -> Conv2dKernel.run(x, xs, w, ws, b, c, out, os);
            }
            case TemporalConv c -> {
                MemorySegment w = buf(t, 1), b = buf(t, 2);
                int[] ws = t.input(1).shape();
                if (c.framesFirst()) {
                    MemorySegment r = t.inputs().size() > 3 ? buf(t, 3) : null;
                    yield () -> TemporalConvKernel.runFramesFirst(x, xs, w, ws, b, r, out);
                }
                yield () -> TemporalConvKernel.run(x, xs, w, ws, b, out);
            }
            case GroupNorm g -> {
                MemorySegment gamma = buf(t, 1), beta = buf(t, 2);
                yield () -> GroupNormKernel.run(x, xs, g.channelAxis(), gamma, beta, g.groups(), g.eps(), g.silu(), out);
            }
            case LayerNorm l -> {
                MemorySegment gamma = buf(t, 1), beta = buf(t, 2);
                int d = xs[xs.length - 1];
                yield () -> LayerNormKernel.run(x, n / d, d, gamma, beta, l.eps(), out);
            }
            case Softmax s -> {
                int d = xs[xs.length - 1];
                yield () -> SoftmaxKernel.run(x, n / d, d, out);
            }
            case Attention a -> {
                MemorySegment k = buf(t, 1), v = buf(t, 2);
                int batch = xs[0], lq = xs[1], lk = t.input(1).dim(1);
                int d = xs[2] / a.heads(), dv = t.input(2).dim(2) / a.heads();
                yield () -> AttentionKernel.run(x, k, v, batch, lq, lk, a.heads(), d, dv, a.scale(), a.causal(), out);
            }
            case Unary u -> () -> UnaryKernel.run(u.kind(), x, n, out);
            case Geglu g -> {
                int d = os[os.length - 1];
                yield () -> GegluKernel.run(x, n / d, d, out);
            }
            case Binary b -> {
                MemorySegment y = buf(t, 1);
                int[] ys = t.input(1).shape();
                yield () -> BinaryKernel.run(b.kind(), x, xs, y, ys, out, os);
            }
            case Affine a -> () -> AffineKernel.run(x, n, a.scale(), a.shift(), out);
            case Clamp c -> () -> ClampKernel.run(x, n, c.min(), c.max(), out);
            case UpsampleNearest u -> () -> UpsampleNearestKernel.run(x, xs, u.outH(), u.outW(), out);
            case Concat c -> {
                List<MemorySegment> parts = new ArrayList<>();
                List<int[]> shapes = new ArrayList<>();
                for (Value v : t.inputs()) { parts.add(buffers.apply(v)); shapes.add(v.shape()); }
                yield () -> ConcatKernel.run(parts, shapes, c.axis(), out, os);
            }
            case Permute p -> {
                int[] perm = p.perm().clone();
                yield () -> PermuteKernel.run(x, xs, perm, out);
            }
            case Slice s -> () -> SliceKernel.run(x, xs, s.axis(), s.start(), s.end(), out);
            case TimestepEmbedding e -> () -> TimestepEmbeddingKernel.run(x, xs[0], e, out);
            case Embedding e -> {
                MemorySegment ids = buf(t, 1);
                long count = t.input(1).numel();
                yield () -> EmbeddingKernel.run(x, xs[0], xs[1], ids, count, out);
            }
            case CfgCombine c -> () -> CfgCombineKernel.run(x, n, c.guidance(), out);
            case DdimStep d -> {
                MemorySegment m = buf(t, 1), coef = buf(t, 2), noise = buf(t, 3);
                yield () -> DdimStepKernel.run(x, m, coef, noise, n, out);
            }
            case LinearCombination lc -> {
                MemorySegment[] terms = new MemorySegment[t.inputs().size() - 1];
                for (int i = 0; i < terms.length; i++) terms[i] = buf(t, i + 1);
                yield () -> LinearCombinationKernel.run(x, terms, n, out);
            }
            case NonFiniteFlag f -> {
                MemorySegment previous = buf(t, 1), step = buf(t, 2);
                long count = t.input(0).numel();
                yield () -> NonFiniteFlagKernel.run(x, count, previous, step, out);
            }
            case Cast c -> () -> CastKernel.run(x, n, c.target(), out);
            default -> throw new UnsupportedOperationException("the JVM backend has no kernel for op " + t.op().name()
                    + " (" + t.op().getClass().getName() + ")");
        };
    }

    private MemorySegment buf(Task t, int i) {
        Value v = t.input(i);
        return v == null ? null : buffers.apply(v);
    }
}
