package dev.i2vgen.model.vae;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Map;

/**
 * The encode half both VAEs share (AutoencoderKL and AutoencoderKLTemporalDecoder have the same Encoder):
 * image → encoder → quant_conv → the posterior's mean and clamped logvar.
 */
final class VaePosterior {
    private VaePosterior() {}

    /** Adds the encoder for image[N, in_channels, H, W] (values in [−1, 1]); {@code w} are the whole VAE's weights. */
    static AutoencoderKL.Moments moments(TaskGraph g, Weights w, VaeConfig cfg, Value image) {
        VaeBlocks.checkChannels(image, cfg.inChannels(), "image");
        int lat = cfg.latentChannels();
        Value moments = VaeEncoder.apply(g, w.at("encoder"), cfg, image);
        try (var s = g.scope("vae.quant_conv")) {
            if (cfg.useQuantConv()) {
                moments = VaeBlocks.conv(g, w.at("quant_conv"), moments, 2 * lat, 2 * lat, 1, Conv2d.of(1, 0));
            }
            Value mean = g.slice(moments, 1, 0, lat);
            Value logvar = g.clamp(g.slice(moments, 1, lat, 2 * lat), -30f, 20f);
            return new AutoencoderKL.Moments(mean, logvar);
        }
    }

    /** Compiles the encoder for image[N, C, H, W], runs it once and returns the posterior on the host. */
    static LatentDistribution encode(Backend backend, Weights w, VaeConfig cfg, Tensor image, DType activation) {
        TaskGraph g = new TaskGraph("vae_encoder", activation);
        Value x = g.input(AutoencoderKL.INPUT_IMAGE, DType.F32, image.shape());
        AutoencoderKL.Moments m = moments(g, w, cfg, VaeBlocks.cast(g, x, activation));
        g.output(AutoencoderKL.OUTPUT_MEAN, m.mean());
        g.output(AutoencoderKL.OUTPUT_LOGVAR, m.logvar());
        try (CompiledStage stage = CompiledStage.compile(backend, g)) {
            Map<String, Tensor> out = stage.run(Map.of(AutoencoderKL.INPUT_IMAGE, image));
            return new LatentDistribution(out.get(AutoencoderKL.OUTPUT_MEAN), out.get(AutoencoderKL.OUTPUT_LOGVAR));
        }
    }
}
