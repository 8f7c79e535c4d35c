package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.Tensor;

/**
 * diffusers' AlphaBlender: α·spatial + (1 − α)·temporal with α = sigmoid(mix_factor), a learned scalar read once
 * when the graph is built. Video mode only (image_only_indicator all zeros, as the SVD pipeline always passes, so
 * "learned_with_images" and "learned" give the same α); {@code switchSpatialToTemporal} (the temporal VAE) uses 1 − α.
 */
public final class AlphaBlender {
    private AlphaBlender() {}

    /** α of the blender whose weights are {@code w} ({@code w.at("time_mixer")}). */
    public static float alpha(Weights w, boolean switchSpatialToTemporal) {
        float mix = w.tensor("mix_factor").toFloatArray()[0];
        float a = (float) (1.0 / (1.0 + Math.exp(-mix)));
        return switchSpatialToTemporal ? 1f - a : a;
    }

    /** α·spatial + (1 − α)·temporal in one pass; {@code name} names the coefficients' constant (unique per blender). */
    public static Value blend(TaskGraph g, String name, Value spatial, Value temporal, float alpha) {
        return g.linearCombination(g.constant(name, Tensor.fromFloats(new float[]{alpha, 1f - alpha}, 2)), spatial, temporal);
    }
}
