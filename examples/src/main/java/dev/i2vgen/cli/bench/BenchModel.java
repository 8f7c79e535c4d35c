package dev.i2vgen.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.io.checkpoint.ComponentFolder;
import dev.i2vgen.io.checkpoint.FeatureExtractorConfig;
import dev.i2vgen.io.tokenizer.ClipTokenizer;
import dev.i2vgen.model.clip.ClipTextConfig;
import dev.i2vgen.model.clip.ClipTextEncoder;
import dev.i2vgen.model.clip.ClipVisionConfig;
import dev.i2vgen.model.clip.ClipVisionEncoder;
import dev.i2vgen.io.config.JsonConfig;
import dev.i2vgen.model.common.RandomWeights;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.model.unet.UNetConfig;
import dev.i2vgen.model.vae.AutoencoderKL;
import dev.i2vgen.model.vae.VaeConfig;
import dev.i2vgen.sampler.scheduler.CheckpointScheduler;
import dev.i2vgen.tensor.TensorSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The components a benchmark runs and the video size it runs them at: either the released I2VGen-XL
 * architecture with deterministic random weights (configs and tensor shapes from the jar's {@code bench/}
 * folder, no download) at 704×1280×16, or the tiny demo checkpoint at a few frames of a few pixels.
 */
public record BenchModel(String description, ClipTokenizer tokenizer, ClipTextEncoder textEncoder,
                         ClipVisionEncoder imageEncoder, FeatureExtractorConfig featureExtractor, AutoencoderKL vae,
                         UNetConfig unetConfig, I2VGenXLUNet unet, CheckpointScheduler scheduler,
                         int height, int width, int frames) {
    private static final long SEED = 20251122L;

    /** Latent height/width: the video size divided by the VAE's downsampling. */
    public int latentHeight() { return height / vae.config().downsampleFactor(); }

    public int latentWidth() { return width / vae.config().downsampleFactor(); }

    /** The released architecture with random fp16 weights, at the pipeline's default 704×1280, 16 frames. */
    public static BenchModel released() {
        ObjectMapper mapper = new ObjectMapper();
        UNetConfig unetConfig = UNetConfig.fromJson(json(mapper, "unet.config.json"), "bench/unet.config.json");
        return new BenchModel("I2VGen-XL (random weights)",
                ClipTokenizer.fromFolder(BenchResources.tokenizerFolder()),
                new ClipTextEncoder(ClipTextConfig.fromJson(config(mapper, "text_encoder.config.json")), weights("text_encoder")),
                new ClipVisionEncoder(ClipVisionConfig.fromJson(config(mapper, "image_encoder.config.json")), weights("image_encoder")),
                FeatureExtractorConfig.from(json(mapper, "feature_extractor.preprocessor_config.json"),
                        Path.of("bench/feature_extractor.preprocessor_config.json")),
                new AutoencoderKL(VaeConfig.fromJson(config(mapper, "vae.config.json")), weights("vae")),
                unetConfig, new I2VGenXLUNet(unetConfig, weights("unet")),
                new CheckpointScheduler(json(mapper, "scheduler.scheduler_config.json"), "bench/scheduler.scheduler_config.json"),
                704, 1280, 16);
    }

    /** The tiny demo checkpoint (an unpacked folder) at 4 frames of 8×8 latents: for machines without a GPU. */
    public static BenchModel demo(Path checkpointDir) {
        CheckpointFolder ckpt = CheckpointFolder.open(checkpointDir);
        ComponentFolder un = ckpt.component("unet");
        UNetConfig unetConfig = UNetConfig.load(un.configFile());
        AutoencoderKL vae = new AutoencoderKL(VaeConfig.load(ckpt.component("vae").configFile()), ckpt.component("vae").weights());
        int scale = vae.config().downsampleFactor();
        return new BenchModel("demo (tiny)",
                ClipTokenizer.fromFolder(ckpt.component("tokenizer").dir()),
                new ClipTextEncoder(ClipTextConfig.load(ckpt.component("text_encoder").configFile()), ckpt.component("text_encoder").weights()),
                new ClipVisionEncoder(ClipVisionConfig.load(ckpt.component("image_encoder").configFile()), ckpt.component("image_encoder").weights()),
                ckpt.featureExtractorConfig(), vae, unetConfig, new I2VGenXLUNet(unetConfig, un.weights()),
                CheckpointScheduler.read(ckpt.component("scheduler").configFile()),
                8 * scale, 8 * scale, 4);
    }

    /** Random weights of one component ("unet", "vae", "text_encoder", "image_encoder") of I2VGen-XL. */
    static RandomWeights weights(String component) {
        try (InputStream in = BenchResources.open("i2vgen-xl-tensors.tsv")) {
            return RandomWeights.fromTensorList(in, "bench/i2vgen-xl-tensors.tsv", component, SEED + component.hashCode());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read bench/i2vgen-xl-tensors.tsv", e);
        }
    }

    private static JsonConfig config(ObjectMapper mapper, String name) {
        return new JsonConfig(json(mapper, name), "bench/" + name);
    }

    private static JsonNode json(ObjectMapper mapper, String name) {
        try (InputStream in = BenchResources.open(name)) {
            return mapper.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse bench/" + name, e);
        }
    }
}
