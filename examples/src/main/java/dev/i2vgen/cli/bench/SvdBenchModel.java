package dev.i2vgen.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.checkpoint.FeatureExtractorConfig;
import dev.i2vgen.model.clip.ClipVisionConfig;
import dev.i2vgen.model.clip.ClipVisionEncoder;
import dev.i2vgen.io.config.JsonConfig;
import dev.i2vgen.model.common.RandomWeights;
import dev.i2vgen.model.svd.SpatioTemporalUNet;
import dev.i2vgen.model.svd.SpatioTemporalUNetConfig;
import dev.i2vgen.model.vae.AutoencoderKLTemporalDecoder;
import dev.i2vgen.model.vae.TemporalVaeConfig;
import dev.i2vgen.sampler.scheduler.CheckpointScheduler;
import dev.i2vgen.tensor.TensorSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The released Stable Video Diffusion XT architecture (stabilityai/stable-video-diffusion-img2vid-xt) with
 * deterministic random fp16 weights — configs and tensor shapes from the jar's {@code bench/} folder (the shapes as
 * diffusers builds the models, {@code conformance/tools/make_svd_tensor_lists.py}; the image encoder is the same
 * ViT-H/14 as I2VGen-XL's) — at the documented usage: 576×1024, 25 frames, decode chunk 8.
 */
public record SvdBenchModel(ClipVisionEncoder imageEncoder, FeatureExtractorConfig featureExtractor,
                            AutoencoderKLTemporalDecoder vae, SpatioTemporalUNet unet, CheckpointScheduler scheduler,
                            int height, int width, int frames, int decodeChunk) {
    private static final long SEED = 20261207L;
    static final String TENSORS = "svd-xt-tensors.tsv";

    public int latentHeight() { return height / vae.config().downsampleFactor(); }

    public int latentWidth() { return width / vae.config().downsampleFactor(); }

    public static SvdBenchModel released() {
        ObjectMapper mapper = new ObjectMapper();
        try {
            return new SvdBenchModel(
                    new ClipVisionEncoder(ClipVisionConfig.fromJson(config(mapper, "image_encoder.config.json")), imageEncoderWeights()),
                    FeatureExtractorConfig.from(read(mapper, "feature_extractor.preprocessor_config.json"),
                            Path.of("bench/feature_extractor.preprocessor_config.json")),
                    new AutoencoderKLTemporalDecoder(TemporalVaeConfig.fromJson(config(mapper, "svd-xt.vae.config.json")), weights("vae")),
                    new SpatioTemporalUNet(SpatioTemporalUNetConfig.fromJson(config(mapper, "svd-xt.unet.config.json")), weights("unet")),
                    new CheckpointScheduler(read(mapper, "svd-xt.scheduler_config.json"), "bench/svd-xt.scheduler_config.json"),
                    576, 1024, 25, 8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the SVD-XT benchmark configs from bench/", e);
        }
    }

    /** Random weights of one component ("unet", "vae") of SVD-XT. */
    static RandomWeights weights(String component) {
        try (InputStream in = BenchResources.open(TENSORS)) {
            return RandomWeights.fromTensorList(in, "bench/" + TENSORS, component, SEED + component.hashCode());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read bench/" + TENSORS, e);
        }
    }

    static RandomWeights imageEncoderWeights() {
        try (InputStream in = BenchResources.open("i2vgen-xl-tensors.tsv")) {
            return RandomWeights.fromTensorList(in, "bench/i2vgen-xl-tensors.tsv", "image_encoder", SEED + 1);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read bench/i2vgen-xl-tensors.tsv", e);
        }
    }

    private static JsonConfig config(ObjectMapper mapper, String name) throws IOException {
        return new JsonConfig(read(mapper, name), "bench/" + name);
    }

    private static com.fasterxml.jackson.databind.JsonNode read(ObjectMapper mapper, String name) throws IOException {
        try (InputStream in = BenchResources.open(name)) {
            return mapper.readTree(in);
        }
    }
}
