package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.graph.ops.GroupNorm;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The channels-last assignment on decoder-like graphs (pure graph logic, no GPU). */
class ChannelsLastPlanTest {

    private static ImmutableTaskGraph decoder(int[] channels, int resnets, int h, int w, boolean zeroWeights) {
        TaskGraph g = new TaskGraph("decoder", DType.F16);
        Value z = g.input("z", DType.F32, 1, 4, h, w);
        Random rnd = new Random(5);
        g.output("image", DecoderLikeGraph.build(g, z, channels, resnets, 32, DType.F16,
                zeroWeights ? shape -> Tensor.allocate(DType.F16, shape) : DecoderLikeGraph.randomWeights(rnd)));
        return g.freeze();
    }

    /**
     * The VAE decoder at 704x1280 (88x160 latents): every conv, norm, add and upsample of the resnets runs NHWC; four
     * conversions remain (the latents into conv_in, the mid attention's norm input and its output, conv_out's 3-channel
     * result into the F32 cast), a small share of the NHWC bytes, so auto keeps the assignment.
     */
    @Test
    void vaeDecoderRunsChannelsLastWithFourConversions() {
        ImmutableTaskGraph graph = decoder(new int[]{128, 256, 512, 512}, 3, 88, 160, true);
        ChannelsLastPlan p = ChannelsLastPlan.assign(graph, DType.F16, false);
        System.out.println("VAE decoder 88x160: " + p + String.format(", conversions %.2f %% of the NHWC bytes",
                100.0 * p.conversionBytes() / Math.max(1, p.channelsLastBytes())));
        assertFalse(p.isEmpty(), "the decoder should run channels-last: " + p);
        assertEquals(4, p.conversions(), p.toString());
        assertTrue(p.conversionBytes() <= ChannelsLastPlan.MAX_CONVERSION_SHARE * p.channelsLastBytes(), p.toString());
        int convs = 0, nhwcConvs = 0, norms = 0, nhwcNorms = 0;
        for (Task t : graph.tasks()) {
            if (t.op() instanceof Conv2d) { convs++; if (p.runs(t)) nhwcConvs++; }
            if (t.op() instanceof GroupNorm) { norms++; if (p.runs(t)) nhwcNorms++; }
        }
        assertEquals(convs, nhwcConvs, "every conv NHWC");
        assertEquals(norms - 1, nhwcNorms, "every norm but the attention's (its output is reshaped)");
        for (Value o : graph.outputs().values()) assertFalse(p.stored(o), "graph outputs stay NCHW");
        for (Value in : graph.inputs().values()) assertFalse(p.stored(in), "graph inputs stay NCHW");
    }

    @Test
    void smallDecoderAndItsConversions() {
        ImmutableTaskGraph graph = decoder(new int[]{32, 64}, 1, 11, 20, false);
        ChannelsLastPlan p = ChannelsLastPlan.assign(graph, DType.F16, true);
        System.out.println("small decoder 11x20: " + p);
        assertEquals(4, p.conversions(), p.toString());
        for (Value v : graph.values()) if (v.aliasOf() != null) assertFalse(p.stored(v.root()), "a reshaped value stays NCHW: " + v);
    }

    /** fp32 keeps NCHW (exact paths); -Di2vgen.cuda.channelsLast=false and a conv-less graph too; no cuDNN, none. */
    @Test
    void offWhereItDoesNotApply() {
        ImmutableTaskGraph graph = decoder(new int[]{32, 64}, 1, 11, 20, false);
        assertTrue(ChannelsLastPlan.plan(graph, DType.F32, () -> true).isEmpty());
        assertTrue(ChannelsLastPlan.plan(graph, DType.F16, () -> false).isEmpty());
        System.setProperty("i2vgen.cuda.channelsLast", "false");
        try {
            assertTrue(ChannelsLastPlan.plan(graph, DType.F16, () -> true).isEmpty());
        } finally {
            System.clearProperty("i2vgen.cuda.channelsLast");
        }
        System.setProperty("i2vgen.cuda.conv", "builtin");
        try {
            assertTrue(ChannelsLastPlan.plan(graph, DType.F16, () -> true).isEmpty());
        } finally {
            System.clearProperty("i2vgen.cuda.conv");
        }
        TaskGraph g = new TaskGraph("norm", DType.F16);
        Value x = g.input("x", DType.F16, 1, 32, 8, 8);
        g.output("y", g.scale(g.groupNorm(x, g.constant("g", Tensor.allocate(DType.F32, 32)), g.constant("b", Tensor.allocate(DType.F32, 32)), 8, 1e-5f, true), 2f));
        assertTrue(ChannelsLastPlan.plan(g.freeze(), DType.F16, () -> true).isEmpty());
    }

    /**
     * A UNet-like resnet: the time embedding is added by a broadcast Add (no NHWC kernel) right after conv1, and the
     * output goes to a reshape: too many conversions for the NHWC convs, so auto declines.
     */
    @Test
    void unetLikeResnetDeclines() {
        TaskGraph g = new TaskGraph("unet", DType.F16);
        Random rnd = new Random(3);
        var w = DecoderLikeGraph.randomWeights(rnd);
        Value x = g.input("x", DType.F16, 4, 64, 16, 16), temb = g.input("temb", DType.F16, 4, 64, 1, 1);
        Value h = g.conv2d(g.groupNorm(x, g.constant("g1", w.apply(new int[]{64})), g.constant("b1", w.apply(new int[]{64})), 32, 1e-5f, true),
                g.constant("w1", w.apply(new int[]{64, 64, 3, 3})), g.constant("c1", w.apply(new int[]{64})), 1, 1);
        h = g.add(h, temb);
        h = g.conv2d(g.groupNorm(h, g.constant("g2", w.apply(new int[]{64})), g.constant("b2", w.apply(new int[]{64})), 32, 1e-5f, true),
                g.constant("w2", w.apply(new int[]{64, 64, 3, 3})), g.constant("c2", w.apply(new int[]{64})), 1, 1);
        Value out = g.add(x, h);
        g.output("y", g.reshape(out, 2, 2, 64, 256));
        ChannelsLastPlan p = ChannelsLastPlan.assign(g.freeze(), DType.F16, false);
        System.out.println("UNet-like resnet: " + p);
        assertTrue(p.isEmpty(), p.toString());
    }
}
