package dev.i2vgen.cli;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.sampler.pipeline.GenerationRequest;
import dev.i2vgen.sampler.pipeline.I4VGenOptions;
import dev.i2vgen.sampler.pipeline.SvdGenerationRequest;
import dev.i2vgen.sampler.pipeline.VideoRequest;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The validated options of one video with the model's defaults resolved ({@link GenerationOptions}): what
 * {@code i2vgen generate} runs and what a job of {@code i2vgen serve} runs. {@code pipeline} is the checkpoint's
 * pipeline class and {@code demo} whether it is the built-in demo model; options of the other model family are
 * zero/null. {@code frames} null (SVD) = the UNet's num_frames; {@code decodeChunk} null = all frames at once;
 * {@code i4vgen} null = the plain pipeline.
 */
public record GenerationParameters(String pipeline, boolean demo, String prompt, String negativePrompt, int height, int width,
                                   Integer frames, int steps, double guidance, double minGuidance, double maxGuidance, int fps,
                                   double eta, int motionBucketId, double noiseAugStrength, long seed, Integer decodeChunk,
                                   SchedulerSpec scheduler, I4VGenOptions i4vgen) {

    public boolean svd() { return "StableVideoDiffusionPipeline".equals(pipeline); }

    /** The request of the checkpoint's model family for {@code image} (the demo's prompt where none was given). */
    public VideoRequest toRequest(RgbImage image) {
        if (svd()) {
            return SvdGenerationRequest.builder(image).height(height).width(width).numFrames(frames).steps(steps)
                    .minGuidance(minGuidance).maxGuidance(maxGuidance).fps(fps).motionBucketId(motionBucketId)
                    .noiseAugStrength(noiseAugStrength).decodeChunkSize(decodeChunk).seed(seed).scheduler(scheduler).build();
        }
        String p = prompt != null ? prompt : DemoModel.PROMPT;
        String negative = negativePrompt != null ? negativePrompt : (demo && prompt == null ? DemoModel.NEGATIVE_PROMPT : null);
        return GenerationRequest.builder(p, image).negativePrompt(negative).height(height).width(width)
                .numFrames(frames).steps(steps).guidance(guidance).fps(fps).eta(eta).seed(seed)
                .decodeChunkSize(decodeChunk).scheduler(scheduler).i4vgen(i4vgen).build();
    }

    /**
     * The values under the command line's option names without the dashes (as {@code i2vgen serve}'s form fields
     * and job descriptions name them), only those of this model family; {@code frames} as given (null = the UNet's).
     */
    public Map<String, Object> byOptionName() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (!svd()) {
            m.put("prompt", prompt != null ? prompt : DemoModel.PROMPT);
            m.put("negative-prompt", negativePrompt != null ? negativePrompt : demo && prompt == null ? DemoModel.NEGATIVE_PROMPT : null);
        }
        m.put("height", height);
        m.put("width", width);
        m.put("frames", frames);
        m.put("steps", steps);
        if (svd()) {
            m.put("min-guidance", minGuidance);
            m.put("max-guidance", maxGuidance);
            m.put("motion-bucket-id", motionBucketId);
            m.put("noise-aug-strength", noiseAugStrength);
        } else {
            m.put("guidance", guidance);
            m.put("eta", eta);
        }
        m.put("fps", fps);
        m.put("seed", Long.toUnsignedString(seed));
        m.put("decode-chunk", decodeChunk == null ? "all" : decodeChunk.toString());
        m.put("scheduler", scheduler == null ? null : scheduler.toString());
        if (i4vgen != null) {
            m.put("i4vgen", true);
            m.put("ni-vsds-fraction", i4vgen.niVsdsFraction());
            m.put("ni-vsds-step-sizes", Arrays.toString(i4vgen.stepSizes()).replaceAll("[\\[\\] ]", ""));
            m.put("regeneration-strength", i4vgen.regenerationStrength());
        }
        return m;
    }
}
