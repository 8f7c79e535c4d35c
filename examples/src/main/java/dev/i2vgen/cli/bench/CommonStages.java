package dev.i2vgen.cli.bench;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.clip.ClipVisionEncoder;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.model.vae.AutoencoderKL;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Map;

/**
 * The benchmark stages that both models time the same way: the CLIP image encoder and the VAE encoder, each on one
 * random image (the models differ only in sizes, the VAE's precision and whether the posterior's logvar is used).
 */
public final class CommonStages {
    private CommonStages() {}

    /** The VAE's encoder graph: image → posterior moments (both VAEs' {@code encode(TaskGraph, Value)}). */
    @FunctionalInterface
    public interface VaeEncoder {
        AutoencoderKL.Moments encode(TaskGraph g, Value image);
    }

    /** Row "image_encode": CLIP vision on one random 1×3×s×s image, s the encoder's image size. */
    public static void imageEncoder(StageRunner runner, Backend backend, ClipVisionEncoder encoder, DType act) {
        int s = encoder.config().imageSize();
        Tensor pixels = runner.gaussian(1, 3, s, s);
        runner.time("image_encode", "CLIP vision, 1x3x" + s + "x" + s, null, null, null, () -> {
            CompiledStage stage = encoder.compile(backend, 1, act);
            return new StageRunner.Timed(stage, () -> stage.run(Map.of(ClipVisionEncoder.INPUT_PIXELS, pixels)));
        });
    }

    /**
     * Row "vae_encode": the VAE encoder on one random 1×3×height×width image in {@code precision}.
     *
     * @param whatSuffix ends the row's description
     * @param logvar     whether the graph also outputs the logvar (a pipeline that samples the posterior needs it;
     *                   one that takes its mode does not)
     */
    public static void vaeEncode(StageRunner runner, Backend backend, VaeEncoder encoder, int height, int width,
                                 DType precision, String whatSuffix, boolean logvar) {
        Tensor image = runner.gaussian(1, 3, height, width);
        runner.time("vae_encode", "VAE encode, 1x3x" + height + "x" + width + whatSuffix, null, null, null, () -> {
            TaskGraph g = new TaskGraph("vae_encoder", precision);
            Value x = g.input(AutoencoderKL.INPUT_IMAGE, DType.F32, image.shape());
            AutoencoderKL.Moments m = encoder.encode(g, precision == DType.F32 ? x : g.cast(x, precision));
            g.output(AutoencoderKL.OUTPUT_MEAN, m.mean());
            if (logvar) g.output(AutoencoderKL.OUTPUT_LOGVAR, m.logvar());
            CompiledStage stage = CompiledStage.compile(backend, g);
            return new StageRunner.Timed(stage, () -> stage.run(Map.of(AutoencoderKL.INPUT_IMAGE, image)));
        });
    }
}
