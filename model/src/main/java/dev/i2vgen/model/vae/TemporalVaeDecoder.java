package dev.i2vgen.model.vae;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.model.blocks.SpatioTemporalResBlock;
import dev.i2vgen.model.blocks.Upsample2D;
import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' {@code TemporalDecoder} (AutoencoderKLTemporalDecoder): conv_in, MidBlockTemporalDecoder,
 * UpBlockTemporalDecoders over the reversed channels (layers_per_block + 1 SpatioTemporalResBlocks each, nearest ×2
 * upsampler on all but the last), GroupNorm+SiLU, conv_out, then time_conv_out across the frames of each video.
 * Frames are in the batch, frame-major: row b·F + f, so every temporal layer is a free reshape to [B, F, C, h, w].
 */
final class TemporalVaeDecoder {
    /** The SpatioTemporalResBlocks' epsilons: diffusers passes 1e-6 to the spatial half and 1e-5 to the temporal. */
    static final float SPATIAL_EPS = 1e-6f, TEMPORAL_EPS = 1e-5f;

    private TemporalVaeDecoder() {}

    static Value apply(TaskGraph g, Weights w, VaeConfig cfg, Value z, Video video) {
        int[] ch = cfg.blockOutChannels();
        int levels = ch.length, groups = cfg.normNumGroups();   // 32: the class fixes it
        Value x;
        try (var s = g.scope("vae.decoder.conv_in")) {
            x = VaeBlocks.conv(g, w.at("conv_in"), z, ch[levels - 1], cfg.latentChannels(), 3, Conv2d.of(1, 1));
        }
        try (var s = g.scope("vae.decoder.mid_block")) {
            x = midBlock(g, w.at("mid_block"), cfg, x, video);
        }
        for (int i = 0; i < levels; i++) {
            int out = ch[levels - 1 - i];
            Weights block = w.at("up_blocks").at(Integer.toString(i));
            try (var s = g.scope("vae.decoder.up_blocks." + i)) {
                for (int j = 0; j < cfg.layersPerBlock() + 1; j++) {
                    x = resBlock(g, block.at("resnets").at(Integer.toString(j)), x, out, groups, video);
                }
                if (i < levels - 1) x = Upsample2D.build(g, block.at("upsamplers").at("0"), x);
            }
        }
        try (var s = g.scope("vae.decoder.conv_out")) {
            x = VaeBlocks.norm(g, w.at("conv_norm_out"), x, groups, true);
            x = VaeBlocks.conv(g, w.at("conv_out"), x, cfg.outChannels(), ch[0], 3, Conv2d.of(1, 1));
        }
        try (var s = g.scope("vae.decoder.time_conv_out")) {
            return timeConvOut(g, w.at("time_conv_out"), x, video);
        }
    }

    /**
     * diffusers' MidBlockTemporalDecoder: resnets[0], then (attention, resnet) pairs zipped from attentions and
     * resnets[1:]. It builds a single attention, so with layers_per_block = 1 (one resnet) the attention is never
     * applied, and with more only resnets[0], attentions[0], resnets[1] are.
     */
    private static Value midBlock(TaskGraph g, Weights w, VaeConfig cfg, Value x, Video video) {
        int c = x.dim(1), groups = cfg.normNumGroups();
        x = resBlock(g, w.at("resnets").at("0"), x, c, groups, video);
        if (cfg.layersPerBlock() >= 2) {
            x = VaeBlocks.midAttention(g, w.at("attentions").at("0"), x, groups);
            x = resBlock(g, w.at("resnets").at("1"), x, c, groups, video);
        }
        return x;
    }

    /** SpatioTemporalResBlock without time embedding, α := 1 − sigmoid(mix_factor) (switch_spatial_to_temporal_mix). */
    private static Value resBlock(TaskGraph g, Weights w, Value x, int outChannels, int groups, Video video) {
        return SpatioTemporalResBlock.build(g, w, video, x, null, outChannels, groups, SPATIAL_EPS, TEMPORAL_EPS, true);
    }

    /** Conv3d(out → out, kernel (3, 1, 1), padding (1, 0, 0)) over each video's frames. */
    private static Value timeConvOut(TaskGraph g, Weights w, Value x, Video video) {
        int c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        Value frames = g.reshape(x, video.batch(), video.frames(), c, h, wd);
        Value y = g.temporalConvFramesFirst(frames, w.get(g, "weight", c, c, 3, 1, 1), w.get(g, "bias", c), null);
        return g.reshape(y, video.n(), c, h, wd);
    }
}
