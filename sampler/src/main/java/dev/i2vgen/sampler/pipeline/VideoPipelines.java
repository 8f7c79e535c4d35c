package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.model.svd.SpatioTemporalUNetConfig;
import dev.i2vgen.model.unet.UNetConfig;
import dev.i2vgen.model.vae.TemporalVaeConfig;
import dev.i2vgen.model.vae.VaeConfig;
import dev.i2vgen.tensor.DType;

import java.nio.file.Path;
import java.util.List;

/**
 * Loads whichever pipeline a diffusers checkpoint folder holds, by {@code model_index.json}'s {@code _class_name}:
 * <pre>{@code
 * try (VideoPipeline pipe = VideoPipelines.fromPretrained(dir, backend, DType.F16)) {
 *     GeneratedVideo v = pipe.generate(request, PipelineListener.NONE);   // a GenerationRequest or an SvdGenerationRequest
 * }}</pre>
 */
public final class VideoPipelines {
    private VideoPipelines() {}

    /** The pipeline class of a checkpoint folder, checked to be one this library runs (before any weights are read). */
    public static String pipelineClass(Path dir) {
        return CheckpointFolder.open(dir).layout().className();
    }

    /**
     * Refuses a request whose sizes the run cannot hold ({@link GenerationSizes}, a {@link RequestLimitException}),
     * from the checkpoint's configs alone: the check the pipeline's {@code generate} makes first, for a caller that
     * wants the refusal before loading anything.
     */
    public static void checkSizes(Path dir, VideoRequest request) {
        CheckpointFolder ckpt = CheckpointFolder.open(dir);
        switch (request) {
            case GenerationRequest r -> {
                VaeConfig vae = VaeConfig.load(ckpt.component("vae").configFile());
                UNetConfig unet = UNetConfig.load(ckpt.component("unet").configFile());
                GenerationSizes.check(I2VGenXLPipeline.hostArrays(r, vae.latentChannels(), unet.inChannels(), vae.downsampleFactor()),
                        r.height(), r.width(), r.numFrames());
            }
            case SvdGenerationRequest r -> {
                TemporalVaeConfig vae = TemporalVaeConfig.load(ckpt.component("vae").configFile());
                int frames = r.numFrames() != null ? r.numFrames()
                        : SpatioTemporalUNetConfig.load(ckpt.component("unet").configFile()).numFrames();
                GenerationSizes.check(StableVideoDiffusionPipeline.hostArrays(r.classifierFreeGuidance(), vae.latentChannels(),
                        vae.downsampleFactor()), r.height(), r.width(), frames);
            }
        }
    }

    /** Validates the folder and builds its pipeline on {@code backend} computing in {@code dtype}. */
    public static VideoPipeline fromPretrained(Path dir, Backend backend, DType dtype) {
        return fromPretrained(dir, List.of(backend), dtype);
    }

    /**
     * As {@link #fromPretrained(Path, Backend, DType)} on one backend or two. With two (two GPUs: one backend per device),
     * the guided denoising loop runs CFG-parallel: each device holds the UNet and runs one half of the guidance batch
     * every step (the unconditional half on the first), the halves are exchanged device to device, and both step the
     * latents; the encoders and the decode run on the first. A request without guidance denoises on the first alone.
     */
    public static VideoPipeline fromPretrained(Path dir, List<Backend> devices, DType dtype) {
        PipelineDevices.check(devices);   // before any file is read
        return fromPretrained(CheckpointFolder.open(dir), () -> devices, dtype);
    }

    /**
     * As {@link #fromPretrained(Path, List, DType)} for a checkpoint folder already opened, validated here unless it was
     * (a caller that checked it first does not pay for reading every file twice), on backends that may still be
     * starting: {@code devices} is asked once, after the weights are mapped, so that the device's start overlaps the
     * mapping (the command line starts it beside its checks).
     */
    public static VideoPipeline fromPretrained(CheckpointFolder checkpoint, java.util.function.Supplier<List<Backend>> devices, DType dtype) {
        return switch (checkpoint.layout()) {
            case I2VGEN_XL -> I2VGenXLPipeline.fromPretrained(checkpoint, devices, dtype);
            case STABLE_VIDEO_DIFFUSION -> StableVideoDiffusionPipeline.fromPretrained(checkpoint, devices, dtype);
        };
    }
}
