package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Affine;
import dev.i2vgen.graph.ops.Binary;
import dev.i2vgen.graph.ops.Cast;
import dev.i2vgen.graph.ops.Clamp;
import dev.i2vgen.graph.ops.Concat;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.graph.ops.GroupNorm;
import dev.i2vgen.graph.ops.Linear;
import dev.i2vgen.graph.ops.MatMul;
import dev.i2vgen.graph.ops.Permute;
import dev.i2vgen.graph.ops.Slice;
import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.graph.ops.UpsampleNearest;
import dev.i2vgen.tensor.DType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * Which 4-D activations the CUDA backend stores channels-last ([N, H, W, C] in the same bytes as [N, C, H, W]): a
 * layout assignment on the frozen graph, pure graph logic (unit-tested on the JVM). The model and the other backends
 * never see it: every value the graph exposes (inputs, outputs, reshape views) stays NCHW, and where an op reads a
 * value in the other layout, {@link ChannelsLastLowering} converts it for that op, so correctness never depends on
 * the assignment, only speed does.
 *
 * <p>Why: cuDNN's fast fp16/bf16 convolutions work on NHWC; given NCHW they transpose x and y in their workspace
 * around every call. At the VAE decoder's shapes NHWC is 1.2–2.8x faster per conv (25.6 → 13.6 ms of convs per
 * 704x1280 frame, docs/cuda-performance-notes.md section 12). So a value is stored NHWC when it is an intermediate
 * 4-D activation in the activation dtype, not viewed through a reshape, not a graph output, its producer can write
 * NHWC ({@link #capable}: a cuDNN convolution, a GroupNorm(+SiLU) or nearest upsampling with an NHWC kernel, a
 * same-shape element-wise op) and each consumer can read it (capable, or one of the ops whose lowering reads its
 * inputs through {@link TaskLowering#ptr} within its own task, which then sees a converted NCHW copy). An op runs in
 * the layout of its output. Values made by non-convolutions whose consumers all run NCHW are demoted (they would
 * only add conversions). Finally the whole assignment is kept only when the conversions it needs move at most
 * {@link #MAX_CONVERSION_SHARE} of the bytes of the NHWC values (the VAE decoder: ~1 %; a graph whose NHWC runs
 * are short would pay more in permutes than cuDNN gains).
 *
 * <p>{@code -Di2vgen.cuda.channelsLast}: unset or {@code auto} as above, {@code false} never (the NCHW backend as before),
 * {@code true} without the share limit (tests). Only for fp16/bf16 with cuDNN and i2vgen.cuda.conv auto or cudnn:
 * fp32 keeps its exact NCHW paths.
 */
final class ChannelsLastPlan {
    static final double MAX_CONVERSION_SHARE = 0.05;
    private static final int VECTOR_BYTES = 16;    // the NHWC kernels move 16-byte vectors of channels
    private static final int GN_BLOCK = 256;       // CL_BLOCK in normalization.cu: (C / vector) must divide it

    private final Set<Integer> stored;             // root ids of the NHWC values
    private final int conversions;
    private final long conversionBytes, channelsLastBytes;
    private final String summary;

    private ChannelsLastPlan(Set<Integer> stored, int conversions, long conversionBytes, long channelsLastBytes, String summary) {
        this.stored = stored;
        this.conversions = conversions;
        this.conversionBytes = conversionBytes;
        this.channelsLastBytes = channelsLastBytes;
        this.summary = summary;
    }

    /** No value channels-last. */
    static ChannelsLastPlan none(String why) { return new ChannelsLastPlan(Set.of(), 0, 0, 0, why); }

    /** {@link #plan}, or none when planning fails (never fatal: the assignment only makes things faster). */
    static ChannelsLastPlan planOrNone(ImmutableTaskGraph graph, DType act, BooleanSupplier cudnn) {
        try {
            return plan(graph, act, cudnn);
        } catch (RuntimeException e) {
            return none("planning failed: " + e);
        }
    }

    /**
     * The assignment for {@code graph} in activation dtype {@code act}; {@code cudnn} answers whether cuDNN is there
     * (asked only when the graph has a Conv2d). The mode comes from -Di2vgen.cuda.channelsLast.
     */
    static ChannelsLastPlan plan(ImmutableTaskGraph graph, DType act, BooleanSupplier cudnn) {
        String mode = System.getProperty("i2vgen.cuda.channelsLast", "auto");
        String conv = System.getProperty("i2vgen.cuda.conv", "auto");
        if (mode.equals("false")) return none("off (i2vgen.cuda.channelsLast=false)");
        if (act == DType.F32) return none("off for fp32");
        if (!conv.equals("auto") && !conv.equals("cudnn")) return none("off with i2vgen.cuda.conv=" + conv);
        if (graph.tasks().stream().noneMatch(t -> t.op() instanceof Conv2d)) return none("no convolution");
        if (!cudnn.getAsBoolean()) return none("off without cuDNN");
        return assign(graph, act, mode.equals("true"));
    }

    /** The assignment itself (no properties, cuDNN assumed present): what {@link #plan} runs; tests call it directly. */
    static ChannelsLastPlan assign(ImmutableTaskGraph graph, DType act, boolean ignoreShare) {
        Map<Integer, Task> producer = new HashMap<>();
        Map<Integer, List<Task>> consumers = new HashMap<>();
        Set<Integer> viewed = new HashSet<>(), outputs = new HashSet<>();
        for (Task t : graph.tasks()) {
            producer.putIfAbsent(t.output().root().id(), t);
            for (Value in : t.inputs()) if (in != null) consumers.computeIfAbsent(in.root().id(), k -> new ArrayList<>()).add(t);
        }
        for (Value v : graph.values()) if (v.aliasOf() != null) viewed.add(v.root().id());
        for (Value o : graph.outputs().values()) outputs.add(o.root().id());

        Set<Integer> nhwc = new HashSet<>();
        Map<Integer, Value> byId = new HashMap<>();
        for (Task t : graph.tasks()) {
            Value v = t.output();
            int id = v.id();
            if (v.aliasOf() != null || v.kind() != Value.Kind.INTERMEDIATE || v.rank() != 4 || v.dtype() != act
                    || viewed.contains(id) || outputs.contains(id) || producer.get(id) != t) continue;
            if (!capable(t, act, producer)) continue;
            List<Task> readers = consumers.getOrDefault(id, List.of());
            if (readers.isEmpty() || !readers.stream().allMatch(r -> capable(r, act, producer) || readsInOwnTask(r, producer))) continue;
            nhwc.add(id);
            byId.put(id, v);
        }
        // demote values that only feed NCHW ops unless a convolution makes them (its NHWC speed pays the conversion)
        for (boolean changed = true; changed; ) {
            changed = false;
            for (var it = nhwc.iterator(); it.hasNext(); ) {
                int id = it.next();
                if (producer.get(id).op() instanceof Conv2d) continue;
                if (consumers.get(id).stream().noneMatch(r -> nhwc.contains(r.output().root().id()))) {
                    it.remove();
                    changed = true;
                }
            }
        }
        int conversions = 0;
        long conversionBytes = 0, nhwcBytes = 0;
        for (int id : nhwc) nhwcBytes += byId.get(id).numel() * act.byteSize();
        for (Task t : graph.tasks()) {
            boolean runs = nhwc.contains(t.output().root().id());
            Set<Integer> seen = new HashSet<>();
            for (int i = 0; i < t.inputs().size(); i++) {
                Value in = t.input(i);
                if (in == null || !seen.add(in.root().id())) continue;
                boolean isNhwc = nhwc.contains(in.root().id());
                if ((runs && layoutInput(t, i) && !isNhwc) || (!runs && isNhwc)) {
                    conversions++;
                    conversionBytes += in.numel() * act.byteSize();
                }
            }
        }
        String summary = String.format("%d values NHWC (%.1f MB), %d conversions (%.1f MB)", nhwc.size(), nhwcBytes / 1e6,
                conversions, conversionBytes / 1e6);
        if (nhwc.isEmpty()) return none("no value qualifies");
        if (!ignoreShare && conversionBytes > MAX_CONVERSION_SHARE * nhwcBytes)
            return none("not used: " + summary + ", conversions over " + (int) (MAX_CONVERSION_SHARE * 100) + " % of the NHWC bytes");
        return new ChannelsLastPlan(Set.copyOf(nhwc), conversions, conversionBytes, nhwcBytes, summary);
    }

    /**
     * Whether {@code t} can run channels-last, i.e. read its layout inputs ({@link #layoutInput}) and write its output
     * in NHWC: a Conv2d through cuDNN (constant 4-D weight, padding cuDNN can express), GroupNorm over axis 1 with
     * whole 16-byte channel vectors, nearest upsampling with whole vectors, same-shape Binary (not fed by a Linear or
     * MatMul: ResidualFusion may fold such an Add into the GEMM, which writes NCHW), Unary, Affine, Clamp.
     */
    static boolean capable(Task t, DType act, Map<Integer, Task> producer) {
        Value out = t.output();
        if (out.rank() != 4 || out.dtype() != act) return false;
        int vector = VECTOR_BYTES / act.byteSize();
        long pixels = (long) out.dim(2) * out.dim(3);
        return switch (t.op()) {
            case Conv2d c -> {
                Value x = t.input(0), w = t.input(1), b = t.input(2);
                if (x == null || w == null || x.rank() != 4 || w.rank() != 4 || w.aliasOf() != null || w.kind() != Value.Kind.CONSTANT) yield false;
                boolean symmetric = out.dim(2) == (x.dim(2) + 2 * c.padTop() - w.dim(2)) / c.strideH() + 1
                        && out.dim(3) == (x.dim(3) + 2 * c.padLeft() - w.dim(3)) / c.strideW() + 1;
                yield symmetric && (b == null || b.rank() == 1);
            }
            case GroupNorm gn -> {
                int ch = out.dim(1);
                yield gn.channelAxis() == 1 && t.input(1) != null && t.input(2) != null && ch % vector == 0
                        && GN_BLOCK % (ch / vector) == 0 && ch % gn.groups() == 0 && pixels * ch < Integer.MAX_VALUE
                        && out.numel() / vector < Integer.MAX_VALUE && sameShape(t.input(0), out);
            }
            case UpsampleNearest u -> t.input(0).rank() == 4 && out.dim(1) % vector == 0 && out.numel() / vector < Integer.MAX_VALUE;
            case Binary b -> t.input(0) != null && t.input(1) != null && sameShape(t.input(0), out) && sameShape(t.input(1), out)
                    && !madeByGemm(t.input(0), producer) && !madeByGemm(t.input(1), producer);
            case Unary u -> sameShape(t.input(0), out);
            case Affine a -> sameShape(t.input(0), out);
            case Clamp c -> sameShape(t.input(0), out);
            default -> false;
        };
    }

    /**
     * Ops whose CUDA lowering reads every input through {@link TaskLowering#ptr} or {@link TaskLowering#operand} while
     * lowering that very task, so an NHWC input can be handed over as an NCHW copy made just before it.
     */
    static boolean readsInOwnTask(Task t, Map<Integer, Task> producer) {
        return switch (t.op()) {
            case GroupNorm g -> true;
            case Cast c -> true;
            case Permute p -> true;
            case Unary u -> true;
            case Affine a -> true;
            case Clamp c -> true;
            case Conv2d c -> true;
            case UpsampleNearest u -> true;
            case Concat c -> true;
            case Slice s -> true;
            case Binary b -> t.inputs().stream().allMatch(in -> in == null || !madeByGemm(in, producer));
            default -> false;
        };
    }

    /** Whether input {@code i} of {@code t} is one it reads in its own layout when it runs channels-last. */
    static boolean layoutInput(Task t, int i) {
        return switch (t.op()) {
            case Binary b -> i <= 1;
            case Conv2d c -> i == 0;
            default -> i == 0;   // GroupNorm, UpsampleNearest, Unary, Affine, Clamp: x
        };
    }

    private static boolean madeByGemm(Value v, Map<Integer, Task> producer) {
        Task p = producer.get(v.root().id());
        return p != null && (p.op() instanceof Linear || p.op() instanceof MatMul);
    }

    private static boolean sameShape(Value a, Value b) { return a != null && Arrays.equals(a.shape(), b.shape()); }

    boolean isEmpty() { return stored.isEmpty(); }

    /** Whether {@code v}'s buffer holds NHWC data (its root is channels-last). */
    boolean stored(Value v) { return stored.contains(v.root().id()); }

    /** Whether {@code t} runs channels-last (its output is stored NHWC). */
    boolean runs(Task t) { return stored(t.output()); }

    int values() { return stored.size(); }

    /** Layout conversions the plan needs per run (each a permute of one op's input), and their bytes. */
    int conversions() { return conversions; }

    long conversionBytes() { return conversionBytes; }

    long channelsLastBytes() { return channelsLastBytes; }

    @Override
    public String toString() { return summary; }
}
