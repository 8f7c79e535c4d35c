package dev.i2vgen.model.vae;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.model.blocks.Downsample2D;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' VAE {@code Encoder} (double_z): conv_in, DownEncoderBlock2Ds (downsampler on all but the
 * last), mid block (resnet, attention, resnet), GroupNorm+SiLU, conv_out → 2·latent channels.
 */
final class VaeEncoder {
    private VaeEncoder() {}

    static Value apply(TaskGraph g, Weights w, VaeConfig cfg, Value x) {
        int[] ch = cfg.blockOutChannels();
        int groups = cfg.normNumGroups();
        try (var s = g.scope("vae.encoder.conv_in")) {
            x = VaeBlocks.conv(g, w.at("conv_in"), x, ch[0], cfg.inChannels(), 3, Conv2d.of(1, 1));
        }
        for (int i = 0; i < ch.length; i++) {
            Weights block = w.at("down_blocks").at(Integer.toString(i));
            try (var s = g.scope("vae.encoder.down_blocks." + i)) {
                for (int j = 0; j < cfg.layersPerBlock(); j++) {
                    x = VaeBlocks.resnet(g, block.at("resnets").at(Integer.toString(j)), x, ch[i], groups);
                }
                if (i < ch.length - 1) x = Downsample2D.build(g, block.at("downsamplers").at("0"), x, 0);
            }
        }
        x = VaeMidBlock.apply(g, w.at("mid_block"), cfg, x, "vae.encoder.mid_block");
        try (var s = g.scope("vae.encoder.conv_out")) {
            x = VaeBlocks.norm(g, w.at("conv_norm_out"), x, groups, true);
            x = VaeBlocks.conv(g, w.at("conv_out"), x, 2 * cfg.latentChannels(), ch[ch.length - 1], 3, Conv2d.of(1, 1));
        }
        return x;
    }
}
