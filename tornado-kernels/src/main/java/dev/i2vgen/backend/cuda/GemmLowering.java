package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Lowers Linear (with its residual Add fused into the GEMM where {@link ResidualFusion} allows) and TemporalConv
 * without im2col: the (k,1,1) convolution over [B, C, F, H·W] as k cuBLASLt GEMMs per launch, one per tap j
 * with frame shift s = j − pad, Y[b][:, f·HW + p] += W_j · X[b][:, (f + s)·HW + p] over the frames where f + s
 * exists: the centre tap (every frame) first with beta = 0, the others with beta = 1 on column sub-ranges of
 * the same rows (offset pointers, ld = F·HW), all batched over B. W_j come from the weight repacked once as
 * [k, O, C]; the per-channel bias is a separate pass (cuBLASLt's bias epilogue adds per pixel here, see gemm.cu).
 * The q/k/v projections of an attention that {@link QkvFusion} groups run as one GEMM into the group's buffer, with
 * the weights (and biases) concatenated once into a resident copy. Every GEMM planned here takes the fastest of
 * cuBLASLt's heuristic candidates, timed once per distinct problem ({@link CublasLt.Timing}; off with
 * -Di2vgen.cuda.gemmSearch=false): their D is always an output in this plan's arena, free at plan build.
 */
final class GemmLowering {
    private static final Logger LOG = Logger.getLogger(GemmLowering.class.getName());

    private final TaskLowering base;
    private final CudaExecutionPlan plan;
    private final CudaBackend backend;
    private final DType act;
    private final ResidualFusion fusion;
    private final QkvFusion projections;
    private final CublasLt.Timing timing;
    private final Set<Integer> absorbedAdds = new HashSet<>();
    private final Map<Long, Long> repackedConstants = new HashMap<>();   // weight pointer → its [k, O, C] copy
    private final Map<Integer, Integer> uses = new HashMap<>();           // root id → task inputs and graph outputs reading it

    GemmLowering(TaskLowering base) {
        this.base = base;
        this.plan = base.plan;
        this.backend = base.backend;
        this.act = base.act;
        CudaExecutionPlan p = plan;
        this.projections = p.projections;
        this.timing = CublasLt.searchEnabled() ? new CublasLt.Timing(backend.driver, backend.stream, backend.workspace, backend.streamLock) : null;
        this.fusion = ResidualFusion.plan(p.graph(), new ResidualFusion.Storage() {
            // a fused projection's output lives in its group's buffer (conservatively: all of it); a Linear fused with
            // its Geglu writes the Geglu's output (GegluFusion)
            @Override public long address(Value v) {
                QkvFusion.Group g = group(v);
                return g != null ? p.pointer(g.buffer()) : p.pointer(gegluWritten(v));
            }
            @Override public long bytes(Value v) {
                QkvFusion.Group g = group(v);
                return (g != null ? g.buffer().numel() : gegluWritten(v).numel()) * p.storageType(v).byteSize();
            }
            @Override public boolean activationTyped(Value v) { return p.storageType(v) == p.activation(); }
        }, ResidualFusion.enabledByProperty(), p.transposesFuse, p.channelsLastPairs);
        for (ResidualFusion.ResidualAdd f : fusion.fused().values()) absorbedAdds.add(f.add().index());
        for (Task t : p.graph().tasks())
            for (Value in : t.inputs()) if (in != null) uses.merge(in.root().id(), 1, Integer::sum);
        for (Value o : p.graph().outputs().values()) uses.merge(o.root().id(), 1, Integer::sum);
    }

    /** What holds {@code v}'s result: the Geglu's output where v is the output of a Linear fused with it, else v. */
    private Value gegluWritten(Value v) {
        for (GegluFusion.Pair pair : plan.geglu.pairs().values())
            if (pair.linear().output().root() == v.root()) return pair.geglu().output();
        return v;
    }

    /** The fused projection group whose member computes {@code v} (a view counts), or null. */
    private QkvFusion.Group group(Value v) {
        if (projections.groups().isEmpty()) return null;
        for (QkvFusion.Group g : projections.groups()) if (g.memberOf(v) >= 0) return g;
        return null;
    }

    /** Whether {@code t} is an Add already computed by its producer (GEMM, conv island or transpose), so it is lowered as nothing. */
    boolean absorbed(Task t) { return absorbedAdds.contains(t.index()); }

    /**
     * The pair whose producer {@code t} is a Conv2d or Permute (ResidualFusion): planned without y, so its lowering
     * writes the Add's result itself (or, failing that, y into scratch and the Add right after: IslandLowering).
     */
    ResidualFusion.ResidualAdd fusedTranspose(Task t) {
        if (t.op() instanceof dev.i2vgen.graph.ops.Linear) return null;
        return fusion.forProducer(t.index());
    }

    /** Producer + Add pairs fused in this plan (tests, logs). */
    int fusedCount() { return absorbedAdds.size(); }

    void linear(Task t) {
        GegluFusion.Pair geglu = plan.geglu.forLinear(t.index());
        if (geglu != null) {   // the Geglu's result at once; its task is lowered as nothing
            Sm90GegluGemm.lower(base, geglu);
            return;
        }
        QkvFusion.Group group = projections.forLinear(t.index());
        if (group != null) {   // one GEMM for the group at its first member; the others are lowered as nothing
            if (t.index() == group.first()) fusedProjection(group);
            return;
        }
        Value x = t.input(0), w = t.input(1);
        int k = x.dim(-1), n = w.dim(0);
        int m = (int) (x.numel() / k);
        long bias = t.input(2) == null ? 0 : base.operand(t.input(2));
        long xp = base.operand(x), wp = base.operand(w);
        ResidualFusion.ResidualAdd fused = fusion.forProducer(t.index());
        if (fused != null && fusedLinear(fused, m, n, k, xp, wp, bias)) return;
        gemm("gemm linear", GemmSpec.packed(act, m, n, k, true, 0, 0, 0, 1, 1f, xp, wp, base.ptr(t.output()), bias));
    }

    /**
     * A fused Linear → Geglu pair the way it ran before the fusion, for when its kernel cannot be set up at plan build:
     * the GEMM into task scratch (the planner gave the Linear's output no memory), then the GEGLU pass into its output.
     */
    void unfusedGeglu(GegluFusion.Pair pair, long x, long w, long bias, long out) {
        int n = 2 * pair.half();
        long y = base.scratch.take(pair.rows() * n * act.byteSize());
        gemm("gemm linear", GemmSpec.packed(act, (int) pair.rows(), n, pair.k(), true, 0, 0, 0, 1, 1f, x, w, y, bias));
        base.geglu(y, out, pair.rows(), pair.half());
    }

    private void gemm(String name, GemmSpec spec) {
        CublasLt.Gemm g = backend.cublas.plan(spec, timing);
        plan.addResource(g);
        plan.addStep(name, stream -> g.run(backend.workspace, stream));
    }

    /**
     * The group's projections as one GEMM: buffer[M, N] = x · Wᵀ (+ bias) with W = [W_q; W_k; W_v] (rows stacked in
     * the order of {@link QkvFusion.Group#linears}, each member's columns at its offset), uploaded once into a
     * resident copy keyed by the first weight plus the identity of the others (rewriting any of them gives another
     * key). Without a cuBLASLt algorithm for the fused shape: one GEMM per member into its columns (ldd = N).
     */
    private void fusedProjection(QkvFusion.Group g) {
        int es = act.byteSize(), k = g.k(), n = g.width(), m = (int) g.rows();
        List<Task> members = g.linears();
        long x = base.operand(members.get(0).input(0));
        long w = concatenated(members.stream().map(t -> t.input(1)).toList(), g.columns(), k, "fused-weight");
        long bias = members.get(0).input(2) == null ? 0
                : concatenated(members.stream().map(t -> t.input(2)).toList(), g.columns(), 1, "fused-bias");
        long d = base.ptr(g.buffer());
        try {
            gemm("gemm linear qkv", new GemmSpec(act, m, n, k, true, 1, 1f, 0f, new GemmSpec.Matrix(x, k, 0),
                    new GemmSpec.Matrix(w, k, 0), null, new GemmSpec.Matrix(d, n, 0), bias));
            return;
        } catch (CudaException e) {
            LOG.fine("fused projection of attention task " + g.attention().index() + " as one GEMM per member: " + e.getMessage());
        }
        for (int i = 0; i < members.size(); i++) {
            int col = g.columns()[i], width = members.get(i).input(1).dim(0);
            gemm("gemm linear", new GemmSpec(act, m, width, k, true, 1, 1f, 0f, new GemmSpec.Matrix(x, k, 0),
                    new GemmSpec.Matrix(w + (long) col * k * es, k, 0), null, new GemmSpec.Matrix(d + (long) col * es, n, 0),
                    bias == 0 ? 0 : bias + (long) col * es));
        }
    }

    /**
     * The constants {@code parts} ([rows_i, cols] each) stacked by rows on the device, row offsets {@code rowStart}:
     * a resident copy under the first part's host tensor, the layout tag naming the others' host identity.
     */
    private long concatenated(List<Value> parts, int[] rowStart, int cols, String tag) {
        int es = act.byteSize();
        long rows = 0;
        StringBuilder layout = new StringBuilder(tag);
        for (Value part : parts) {
            rows += part.numel() / cols;
            layout.append('|').append(hostIdentity(part.root()));
        }
        Value first = parts.get(0).root();
        return plan.constantPointer(first, layout.toString(), rows * cols * es, (root, p) -> {
            for (int i = 0; i < parts.size(); i++) plan.uploadInBackground(parts.get(i).root(), p + (long) rowStart[i] * cols * es);
        });
    }

    /**
     * A constant's host bytes as ResidentWeights tells them apart: address, size, dtype and a sampled fingerprint
     * (a rewrite in place changes the tag, so a stale concatenation is never found); a strided view by identity.
     */
    private static String hostIdentity(Value root) {
        dev.i2vgen.tensor.Tensor t = root.constant();
        if (!t.isContiguous()) return "view" + System.identityHashCode(t);
        java.lang.foreign.MemorySegment seg = t.contiguousSegment();
        long n = seg.byteSize() / 8, h = seg.byteSize();
        for (int s = 0; s < 64 && n > 0; s++) {
            long i = n * s / 64;
            h = (h ^ seg.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i * 8)) * 0x9E3779B97F4A7C15L + i;
        }
        return Long.toHexString(seg.address()) + ":" + seg.byteSize() + ":" + t.dtype() + ":" + Long.toHexString(h);
    }

    /** D = x·Wᵀ + bias + R as one GEMM (C = R, beta = 1); false (and the Add lowered normally) if cuBLASLt has no algorithm. */
    private boolean fusedLinear(ResidualFusion.ResidualAdd f, int m, int n, int k, long x, long w, long bias) {
        long r = base.operand(f.residual());
        long d = base.ptr(f.add().output());
        GemmSpec spec = new GemmSpec(act, m, n, k, true, 1, 1f, 1f, new GemmSpec.Matrix(x, k, 0), new GemmSpec.Matrix(w, k, 0),
                new GemmSpec.Matrix(r, n, 0), new GemmSpec.Matrix(d, n, 0), bias);
        CublasLt.Gemm g;
        try {
            g = backend.cublas.plan(spec, timing);
        } catch (CudaException e) {
            LOG.fine("linear task " + f.producer().index() + " not fused with its add: " + e.getMessage());
            absorbedAdds.remove(f.add().index());
            return false;
        }
        plan.addResource(g);
        plan.addStep("gemm linear+add", stream -> g.run(backend.workspace, stream));
        return true;
    }

    /**
     * TemporalConv in diffusers' layout (x [B, C, F, h, w]) as GEMMs: one over every tap and frame into task scratch
     * (taps [k·O, C] · x[b]), shifted, summed and biased by gemm.cu's temporal_taps_sum; or, with
     * -Di2vgen.cuda.temporalStackedTaps=true (opt-in until measured on a GPU: notes section 24); otherwise, or with no
     * algorithm for it, a GEMM per tap at its frame offset accumulating
     * into y (beta = 1) and bias_rows. False (nothing planned) where it does not apply: a convolution path forced with
     * -Di2vgen.cuda.conv (im2col, igemm, cudnn: tests and A/B runs keep ConvolutionLowering), turned off with
     * -Di2vgen.cuda.temporalGemm=false (A/B), more than 2³¹ columns, or no cuBLASLt algorithm.
     */
    boolean temporalConv(Task t) {
        String mode = System.getProperty("i2vgen.cuda.conv", "builtin");
        if (!mode.equals("builtin") && !mode.equals("auto") || "false".equals(System.getProperty("i2vgen.cuda.temporalGemm"))) return false;
        Value x = t.input(0), w = t.input(1), out = t.output();
        int images = x.dim(0), c = x.dim(1), frames = x.dim(2), o = w.dim(0), k = w.dim(2), pad = (k - 1) / 2;
        long hw = (long) x.dim(3) * x.dim(4), cols = frames * hw;
        if (cols > Integer.MAX_VALUE) return false;
        int es = act.byteSize();
        long xp = base.operand(x), y = base.ptr(out);
        boolean constantWeight = w.root().kind() == Value.Kind.CONSTANT;
        long tapBytes = (long) o * c * k * es;
        // a constant read by this conv alone is kept on the device in the [k, O, C] layout only, shared with later
        // plans (ResidentWeights): repacked once per backend (the UNet's 88 weights would cost ~0.5 GB twice)
        boolean ownTaps = constantWeight && k > 1 && uses.getOrDefault(w.root().id(), 0) == 1 && w.root().numel() == (long) o * c * k;
        long wp = ownTaps ? 0 : base.operand(w);
        Long cachedTaps = k == 1 ? Long.valueOf(wp) : ownTaps ? Long.valueOf(plan.constantPointer(w.root(), "taps" + k, tapBytes,
                (root, p) -> {
                    plan.upload(root, p);
                    repack(p, p, (long) o * c, k, true);
                    plan.build().finish();   // a resident copy: complete before another thread's plan takes it
                })) : constantWeight ? repackedConstants.get(wp) : null;
        long taps = cachedTaps != null ? cachedTaps : constantWeight ? plan.allocateExtra(tapBytes) : base.scratch.take(tapBytes);
        List<CublasLt.Gemm> gemms = new ArrayList<>();
        List<String> names = new ArrayList<>();
        long stacked = k > 1 && stackedTapsByProperty() ? base.scratch.take((long) images * k * o * cols * es) : 0;
        if (stacked != 0) {
            try {   // z[b] = taps [k·O, C] · x[b]: every tap over every frame, aligned (temporal_taps_sum shifts and adds)
                gemms.add(backend.cublas.plan(new GemmSpec(act, k * o, (int) cols, c, false, images, 1f, 0f, new GemmSpec.Matrix(taps, c, 0),
                        new GemmSpec.Matrix(xp, cols, (long) c * cols), null, new GemmSpec.Matrix(stacked, cols, (long) k * o * cols), 0), timing));
                names.add("gemm temporal taps");
            } catch (CudaException e) {
                LOG.fine("temporal conv task " + t.index() + ": no algorithm for the stacked taps, per-tap GEMMs: " + e.getMessage());
                stacked = 0;
            }
        }
        try {
            for (int i = 0; i < k && stacked == 0; i++) {
                int j = i == 0 ? pad : i <= pad ? i - 1 : i;   // centre tap first: it covers every frame (beta = 0)
                int shift = j - pad;
                int f0 = Math.max(0, -shift), f1 = Math.min(frames, frames - shift);
                if (f0 >= f1) continue;   // the shifted frames are all padding
                long yOff = f0 * hw * es, xOff = (f0 + shift) * hw * es;
                GemmSpec.Matrix d = new GemmSpec.Matrix(y + yOff, cols, (long) o * cols);
                gemms.add(backend.cublas.plan(new GemmSpec(act, o, (int) ((f1 - f0) * hw), c, false, images, 1f, shift == 0 ? 0f : 1f,
                        new GemmSpec.Matrix(taps + (long) j * o * c * es, c, 0), new GemmSpec.Matrix(xp + xOff, cols, (long) c * cols),
                        shift == 0 ? null : d, d, 0), timing));
                names.add(shift == 0 ? "gemm temporal centre" : "gemm temporal side");
            }
        } catch (CudaException e) {
            for (CublasLt.Gemm g : gemms) g.close();
            LOG.fine("temporal conv task " + t.index() + " keeps the im2col path: " + e.getMessage());
            return false;
        }
        if (cachedTaps == null) {
            if (constantWeight) plan.build().fenceUploads();   // repacked now from its plain copy, which may still be on its way
            repack(wp, taps, (long) o * c, k, constantWeight);
        }
        for (int i = 0; i < gemms.size(); i++) {
            CublasLt.Gemm g = gemms.get(i);
            plan.addResource(g);
            plan.addStep(names.get(i), stream -> g.run(backend.workspace, stream));
        }
        long bias = t.input(2) == null ? 0 : base.operand(t.input(2));
        if (stacked != 0) {
            int v = VectorAccess.width(es, hw, stacked, y);
            base.launch("gemm", "temporal_taps_sum_v" + v, TaskLowering.grid((long) images * o * cols / v), 1, TaskLowering.BLOCK, 0,
                    base.args().ptr(stacked).ptr(bias).ptr(y).i32(images).i32(o).i32(frames).i32((int) hw).i32(k));
        } else if (bias != 0) {
            biasRows(base, y, bias, (long) images * o, o, cols);
        }
        return true;
    }

    /** -Di2vgen.cuda.temporalStackedTaps=true: all taps in one GEMM (opt-in until measured on a GPU); else per-tap GEMMs. */
    static boolean stackedTapsByProperty() { return "true".equals(System.getProperty("i2vgen.cuda.temporalStackedTaps")); }

    /**
     * w [O, C, k] → taps [k, O, C]. A constant weight never changes, so it is repacked once, now, into memory the plan
     * owns (constants are on the device already), or over itself (taps == w) through a temporary; a weight given as
     * an input is repacked by a step of every run.
     */
    private void repack(long w, long taps, long oc, int k, boolean once) {
        int grid = TaskLowering.grid(oc * k);
        if (!once) {
            base.launch("gemm", "repack_taps", grid, 1, TaskLowering.BLOCK, 0, base.args().ptr(w).ptr(taps).i64(oc).i32(k));
            return;
        }
        // launched now on the build stream, finished before the plan's first run; the temporary is task scratch, free at plan build
        long target = taps == w ? base.scratch.take(oc * k * act.byteSize()) : taps;
        launchNow(grid, base.args().ptr(w).ptr(target).i64(oc).i32(k));
        if (target != taps) launchNow(grid, base.args().ptr(target).ptr(taps).i64(oc * k).i32(1));   // k = 1: a plain copy back
        repackedConstants.put(w, taps);
    }

    private void launchNow(int grid, KernelLaunch.Args args) {
        KernelLaunch.of("repack_taps", backend.kernels.function("gemm", "repack_taps", act), grid, 1, TaskLowering.BLOCK, 0, args)
                .run(backend.driver, plan.build().stream());
    }

    /** y[r, p] += bias[r % channels] over rows of {@code inner} values (gemm.cu bias_rows; also TemporalConvLowering). */
    static void biasRows(TaskLowering tl, long y, long bias, long rows, int channels, long inner) {
        int es = tl.act.byteSize();
        boolean vec = (y & 15) == 0 && (inner * es) % 16 == 0;
        long units = vec ? inner * es / 16 : inner;
        int gx = (int) Math.min(rows, Integer.MAX_VALUE);
        int gy = (int) Math.max(1, Math.min((units + TaskLowering.BLOCK - 1) / TaskLowering.BLOCK, 65535));
        tl.launch("gemm", "bias_rows", gx, gy, TaskLowering.BLOCK, 0,
                tl.args().ptr(y).ptr(bias).i64(rows).i64(channels).i64(inner).i32(vec ? 1 : 0));
    }
}
