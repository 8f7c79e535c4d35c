package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.Tensor;

/**
 * diffusers' SpatioTemporalResBlock: s = ResnetBlock2D per frame ({@code spatial_res_block}), t = TemporalResnetBlock
 * over the frames ({@code temporal_res_block}, t = s + branch), out = α·s + (1 − α)·t ({@code time_mixer}). Since
 * t − s is the temporal branch, out = s + (1 − α)·branch: one linear combination instead of blending two tensors.
 */
public final class SpatioTemporalResBlock {
    private SpatioTemporalResBlock() {}

    /**
     * @param x                       [N = B·F, Cin, h, w]
     * @param embSilu                 SiLU(time embedding) per video [B, E], or null (the temporal VAE decoder)
     * @param eps                     the spatial block's GroupNorm epsilon
     * @param temporalEps             the temporal block's
     * @param switchSpatialToTemporal the temporal VAE's α := 1 − sigmoid(mix_factor)
     * @return [N, outChannels, h, w]
     */
    public static Value build(TaskGraph g, Weights w, Video video, Value x, Value embSilu, int outChannels, int groups,
                              float eps, float temporalEps, boolean switchSpatialToTemporal) {
        Value s = ResnetBlock.build(g, w.at("spatial_res_block"), video, x, embSilu, outChannels, groups, eps);
        Value branch = TemporalResnetBlock.branch(g, w.at("temporal_res_block"), video, s, embSilu, groups, temporalEps);
        float alpha = AlphaBlender.alpha(w.at("time_mixer"), switchSpatialToTemporal);
        Value k = g.constant(w.path("time_mixer.blend_coefficients"), Tensor.fromFloats(new float[]{1f, 1f - alpha}, 2));
        return g.linearCombination(k, s, branch);   // one pass instead of a scale and an add
    }
}
