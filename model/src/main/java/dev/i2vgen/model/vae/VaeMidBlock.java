package dev.i2vgen.model.vae;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/** diffusers' {@code UNetMidBlock2D} as the VAE uses it: resnet, single-head attention (optional), resnet. */
final class VaeMidBlock {
    private VaeMidBlock() {}

    static Value apply(TaskGraph g, Weights w, VaeConfig cfg, Value x, String label) {
        int c = x.dim(1), groups = cfg.normNumGroups();
        try (var s = g.scope(label)) {
            x = VaeBlocks.resnet(g, w.at("resnets").at("0"), x, c, groups);
            if (cfg.midBlockAddAttention()) x = VaeBlocks.midAttention(g, w.at("attentions").at("0"), x, groups);
            return VaeBlocks.resnet(g, w.at("resnets").at("1"), x, c, groups);
        }
    }
}
