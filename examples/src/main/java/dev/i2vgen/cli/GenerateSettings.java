package dev.i2vgen.cli;

import dev.i2vgen.sampler.pipeline.I4VGenOptions;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.tensor.DType;

import java.nio.file.Path;

/**
 * Validated options of one {@code generate} run with the model's defaults resolved (model null = built-in demo).
 * {@code pipeline} is the checkpoint's pipeline class; options of the other model family are zero/null.
 * {@code frames} null (SVD) = the UNet's num_frames; {@code decodeChunk} null = all frames at once.
 */
record GenerateSettings(Path model, String pipeline, Path image, String prompt, String negativePrompt, int height, int width,
                        Integer frames, int steps, double guidance, double minGuidance, double maxGuidance, int fps,
                        double eta, int motionBucketId, double noiseAugStrength, long seed, Integer decodeChunk,
                        SchedulerSpec scheduler, I4VGenOptions i4vgen, Path saveIntermediate, String device, DType dtype, Path output) {

    boolean svd() { return "StableVideoDiffusionPipeline".equals(pipeline); }
}
