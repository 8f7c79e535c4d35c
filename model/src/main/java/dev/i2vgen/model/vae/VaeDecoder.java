package dev.i2vgen.model.vae;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.model.blocks.Upsample2D;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' VAE {@code Decoder}: conv_in, mid block, UpDecoderBlock2Ds over the reversed channels
 * (layers_per_block + 1 resnets each, nearest ×2 upsampler on all but the last), GroupNorm+SiLU, conv_out.
 */
final class VaeDecoder {
    private VaeDecoder() {}

    static Value apply(TaskGraph g, Weights w, VaeConfig cfg, Value z) {
        int[] ch = cfg.blockOutChannels();
        int levels = ch.length, groups = cfg.normNumGroups();
        Value x;
        try (var s = g.scope("vae.decoder.conv_in")) {
            x = VaeBlocks.conv(g, w.at("conv_in"), z, ch[levels - 1], cfg.latentChannels(), 3, Conv2d.of(1, 1));
        }
        x = VaeMidBlock.apply(g, w.at("mid_block"), cfg, x, "vae.decoder.mid_block");
        for (int i = 0; i < levels; i++) {
            int out = ch[levels - 1 - i];
            Weights block = w.at("up_blocks").at(Integer.toString(i));
            try (var s = g.scope("vae.decoder.up_blocks." + i)) {
                for (int j = 0; j < cfg.layersPerBlock() + 1; j++) {
                    x = VaeBlocks.resnet(g, block.at("resnets").at(Integer.toString(j)), x, out, groups);
                }
                if (i < levels - 1) x = Upsample2D.build(g, block.at("upsamplers").at("0"), x);
            }
        }
        try (var s = g.scope("vae.decoder.conv_out")) {
            x = VaeBlocks.norm(g, w.at("conv_norm_out"), x, groups, true);
            x = VaeBlocks.conv(g, w.at("conv_out"), x, cfg.outChannels(), ch[0], 3, Conv2d.of(1, 1));
        }
        return x;
    }
}
