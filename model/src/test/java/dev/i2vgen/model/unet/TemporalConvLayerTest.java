package dev.i2vgen.model.unet;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.RandomWeights;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The frame-major TemporalConvLayer (no permutes, GroupNorm on channel axis 2, frames-first convs, identity added by
 * the last conv) against diffusers' formulation ({@link TemporalConvLayer#buildPermuted}: permute to [B, C, F, h, w],
 * 4 × (GN+SiLU, conv), + identity, permute back) on the JVM. Random weights, random input with a non-zero mean, fed
 * through an op so that it is a planned intermediate as in the UNet.
 */
class TemporalConvLayerTest {

    @ParameterizedTest
    @CsvSource({"2, 3, 8, 4, 3, 5", "1, 1, 8, 2, 2, 2", "1, 16, 16, 8, 2, 3", "2, 2, 4, 4, 1, 3"})
    void frameMajorLayerMatchesThePermutedFormulation(int batch, int frames, int c, int groups, int h, int w) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (int k = 1; k <= 4; k++) {
            String conv = k == 1 ? "2" : "3";
            shapes.put("conv" + k + ".0.weight", new int[]{c});
            shapes.put("conv" + k + ".0.bias", new int[]{c});
            shapes.put("conv" + k + "." + conv + ".weight", new int[]{c, c, 3, 1, 1});
            shapes.put("conv" + k + "." + conv + ".bias", new int[]{c});
        }
        // weights of N(0, 0.02²) would make the convs vanish next to the identity: scale them up through the source
        Weights weights = new Weights(new Scaled(new RandomWeights(shapes, batch * 7L + frames + c, "test"), 25f));
        Video video = new Video(batch, frames);
        Random rnd = new Random(frames * 31L + c);
        float[] xv = new float[batch * frames * c * h * w];
        for (int i = 0; i < xv.length; i++) xv[i] = (float) (rnd.nextGaussian() + 0.3);
        Tensor x = Tensor.fromFloats(xv, batch * frames, c, h, w);

        Tensor actual;
        System.setProperty("i2vgen.unet.temporalFramesFirst", "true");   // also where h·w alone would pick the permuted form
        try {
            actual = run(x, g -> TemporalConvLayer.build(g, weights, video, intermediate(g, x), groups));
        } finally {
            System.clearProperty("i2vgen.unet.temporalFramesFirst");
        }
        Tensor expected = run(x, g -> TemporalConvLayer.buildPermuted(g, weights, video, intermediate(g, x), groups));
        double num = 0, den = 0, diff = 0;
        for (int i = 0; i < xv.length; i++) {
            double a = actual.getFlat(i), e = expected.getFlat(i);
            assertTrue(!Double.isNaN(a), "NaN at " + i);
            num += (a - e) * (a - e);
            den += e * e;
            diff += (e - xv[i]) * (e - xv[i]);
        }
        assertTrue(diff > 1e-2 * den, "the convs must change the output measurably (else only the identity is checked)");
        double rel = Math.sqrt(num / den);
        assertTrue(rel < 1e-5, "relative error " + rel);
    }

    /** By default the frame-major form where h·w is a multiple of 8 (16-byte GEMM rows), the permuted one elsewhere. */
    @org.junit.jupiter.api.Test
    void framesFirstWhereRowsAreAligned() {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (int k = 1; k <= 4; k++) {
            shapes.put("conv" + k + ".0.weight", new int[]{8});
            shapes.put("conv" + k + ".0.bias", new int[]{8});
            shapes.put("conv" + k + "." + (k == 1 ? "2" : "3") + ".weight", new int[]{8, 8, 3, 1, 1});
            shapes.put("conv" + k + "." + (k == 1 ? "2" : "3") + ".bias", new int[]{8});
        }
        Weights weights = new Weights(new RandomWeights(shapes, 1, "test"));
        for (int[] hw : new int[][]{{2, 4}, {11, 20}, {22, 40}}) {
            TaskGraph g = new TaskGraph("layer", DType.F32);
            g.output("out", TemporalConvLayer.build(g, weights, new Video(2, 3), g.input("x", DType.F32, 6, 8, hw[0], hw[1]), 4));
            long permutes = g.freeze().tasks().stream().filter(t -> t.op() instanceof dev.i2vgen.graph.ops.Permute).count();
            long framesFirst = g.freeze().tasks().stream().filter(t -> t.op() instanceof dev.i2vgen.graph.ops.TemporalConv tc && tc.framesFirst()).count();
            boolean aligned = hw[0] * hw[1] % 8 == 0;
            assertTrue(aligned ? permutes == 0 && framesFirst == 4 : permutes == 2 && framesFirst == 0,
                    java.util.Arrays.toString(hw) + ": " + permutes + " permutes, " + framesFirst + " frames-first convs");
        }
    }

    /** The input as an intermediate (as in the UNet), not a graph input: planned memory, views of it live on. */
    private static Value intermediate(TaskGraph g, Tensor x) { return g.affine(g.input("x", DType.F32, x.shape()), 1f, 0f); }

    private static Tensor run(Tensor x, java.util.function.Function<TaskGraph, Value> build) {
        TaskGraph g = new TaskGraph("temporal-conv-layer", DType.F32);
        g.output("out", build.apply(g));
        try (Backend jvm = Backends.create("jvm"); ExecutionPlan plan = jvm.compile(g.freeze())) {
            plan.executeByName(Map.of("x", x));
            return plan.read("out");
        }
    }

    /** A source whose tensors are another's times a factor (F32 copies). */
    private record Scaled(dev.i2vgen.tensor.TensorSource inner, float factor) implements dev.i2vgen.tensor.TensorSource {
        public Tensor get(String name) {
            Tensor t = inner.get(name).to(DType.F32);
            float[] v = new float[(int) t.numel()];
            for (int i = 0; i < v.length; i++) v[i] = t.getFlat(i) * factor;
            return Tensor.fromFloats(v, t.shape());
        }
        public boolean contains(String name) { return inner.contains(name); }
        public java.util.Set<String> names() { return inner.names(); }
        public String description() { return "scaled " + inner.description(); }
    }
}
