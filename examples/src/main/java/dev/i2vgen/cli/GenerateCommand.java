package dev.i2vgen.cli;

import dev.i2vgen.io.checkpoint.CheckpointException;
import dev.i2vgen.io.video.VideoWriters;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.sampler.scheduler.Schedulers;
import dev.i2vgen.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code i2vgen generate}: runs the pipeline that {@code --model}'s {@code model_index.json} names (I2VGen-XL or Stable
 * Video Diffusion), with diffusers' option names and defaults for that model; every option is validated, and an
 * option the model does not take is an error naming both, before any work starts.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate a video from an image (and, for I2VGen-XL, a prompt) with the pipeline the checkpoint's",
                "model_index.json names: I2VGenXLPipeline or StableVideoDiffusionPipeline. Without --model, runs the",
                "built-in tiny I2VGen-XL demo model. Defaults are diffusers' for the model (I2VGen-XL / SVD)."})
public final class GenerateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "diffusers checkpoint folder of I2VGen-XL or Stable Video Diffusion (default: built-in tiny I2VGen-XL demo model)")
    Path model;

    @Option(names = "--image", paramLabel = "FILE", description = "input image (PNG, JPEG, BMP, GIF); default with the demo model: its test image")
    Path image;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "I2VGen-XL: what the video should show")
    String prompt;

    @Option(names = "--negative-prompt", paramLabel = "TEXT", description = "I2VGen-XL: what to steer away from (used when guidance > 1)")
    String negativePrompt;

    @Option(names = "--height", description = "output height in pixels, a multiple of 8 (default: I2VGen-XL 704, SVD 576, demo 32)")
    Integer height;

    @Option(names = "--width", description = "output width in pixels, a multiple of 8 (default: I2VGen-XL 1280, SVD 1024, demo 48)")
    Integer width;

    @Option(names = "--frames", description = "number of frames (default: I2VGen-XL 16, SVD the UNet's num_frames (14 or 25), demo 4)")
    Integer frames;

    @Option(names = "--steps", description = "denoising steps (default: I2VGen-XL 50, SVD 25, demo 3)")
    Integer steps;

    @Option(names = "--guidance", description = "I2VGen-XL: classifier-free guidance scale; > 1 turns CFG on (default: 9.0)")
    Double guidance;

    @Option(names = "--eta", description = "I2VGen-XL: DDIM eta, 0 = deterministic (default: 0)")
    Double eta;

    @Option(names = "--min-guidance", description = "SVD: guidance of the first frame (default: 1.0)")
    Double minGuidance;

    @Option(names = "--max-guidance", description = "SVD: guidance of the last frame; CFG is on iff > 1 (default: 3.0)")
    Double maxGuidance;

    @Option(names = "--motion-bucket-id", description = "SVD: the amount of motion (default: 127)")
    Integer motionBucketId;

    @Option(names = "--noise-aug-strength", description = "SVD: noise added to the conditioning image (default: 0.02)")
    Double noiseAugStrength;

    @Option(names = "--fps", description = "frame rate: the UNet's fps condition and the video's rate (default: I2VGen-XL 16, SVD 7)")
    Integer fps;

    @Option(names = "--seed", description = "random seed; draws the same noise as torch.manual_seed(seed) (default: random)")
    Long seed;

    @Option(names = "--decode-chunk", paramLabel = "N|all", description = "frames per VAE decode call, or 'all' (default: I2VGen-XL 1, SVD all)")
    String decodeChunk;

    @Option(names = "--scheduler", paramLabel = "NAME[:key=value,...]|list",
            description = {"swap the checkpoint's scheduler for diffusers' class NAME built from its config with these options,",
                    "e.g. DPMSolverMultistepScheduler:use_karras_sigmas=true,algorithm_type=sde-dpmsolver++;",
                    "'list' prints the schedulers and their options (default: the checkpoint's scheduler)"})
    String scheduler;

    @Option(names = "--device", defaultValue = "jvm", description = "jvm, cuda or opencl (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--output", paramLabel = "out.mp4|out.gif|DIR/", description = "MP4, GIF, or a folder of PNG frames (required)")
    Path output;

    @Override
    public Integer call() throws Exception {
        if ("list".equals(scheduler)) {
            spec.commandLine().getOut().print(Schedulers.describe());
            spec.commandLine().getOut().flush();
            return 0;
        }
        GenerateSettings settings = validate();
        return new GenerateRun(settings, spec.commandLine().getOut(), spec.commandLine().getErr()).run();
    }

    /** Checks every option and resolves the model's defaults; throws a ParameterException naming the option. */
    GenerateSettings validate() {
        boolean demo = model == null;
        if (height != null && (height <= 0 || height % 8 != 0)) fail("--height must be a positive multiple of 8, got " + height);
        if (width != null && (width <= 0 || width % 8 != 0)) fail("--width must be a positive multiple of 8, got " + width);
        if (frames != null && frames < 1) fail("--frames must be at least 1, got " + frames);
        if (steps != null && (steps < 1 || steps > 1000)) fail("--steps must be between 1 and 1000 (the scheduler's training steps), got " + steps);
        if (guidance != null && (!Double.isFinite(guidance) || guidance < 0)) fail("--guidance must be a finite number >= 0, got " + guidance);
        if (eta != null && (!Double.isFinite(eta) || eta < 0)) fail("--eta must be >= 0, got " + eta);
        if (minGuidance != null && (!Double.isFinite(minGuidance) || minGuidance < 0)) fail("--min-guidance must be a finite number >= 0, got " + minGuidance);
        if (maxGuidance != null && (!Double.isFinite(maxGuidance) || maxGuidance < 0)) fail("--max-guidance must be a finite number >= 0, got " + maxGuidance);
        if (motionBucketId != null && motionBucketId < 0) fail("--motion-bucket-id must be >= 0, got " + motionBucketId);
        if (noiseAugStrength != null && (!Double.isFinite(noiseAugStrength) || noiseAugStrength < 0)) fail("--noise-aug-strength must be a finite number >= 0, got " + noiseAugStrength);
        if (fps != null && fps < 1) fail("--fps must be at least 1, got " + fps);
        Integer chunk = decodeChunk == null ? null : parseChunk(decodeChunk);
        SchedulerSpec schedulerSpec = SchedulerOptionParser.parse(scheduler, spec.commandLine());
        if (output == null) fail("Missing required option: '--output=out.mp4|out.gif|DIR/'");
        String backendName = device.toLowerCase(Locale.ROOT);
        if (!backendName.equals("jvm") && !backendName.equals("cuda") && !backendName.equals("opencl")) fail("--device must be jvm, cuda or opencl, got '" + device + "'");
        DType dt;
        try {
            dt = DType.fromPrecision(dtype);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--dtype: " + e.getMessage());
        }
        if (!demo && !Files.isDirectory(model)) fail("--model " + model + " is not a folder (expected a diffusers checkpoint folder with model_index.json)");
        if (!demo && image == null) fail("--image is required with --model");
        if (image != null && !Files.isRegularFile(image)) fail("--image " + image + " does not exist or is not a file");
        if (image != null && !Files.isReadable(image)) fail("--image " + image + " is not readable");
        try {
            VideoWriters.forOutput(output);
        } catch (IllegalArgumentException e) {
            fail("--output: " + e.getMessage());
        }
        Path parent = output.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) fail("--output: folder " + parent + " does not exist");
        if (!Files.isWritable(parent)) fail("--output: folder " + parent + " is not writable");

        String pipeline = demo ? "I2VGenXLPipeline" : pipelineClassOf(model);
        boolean svd = pipeline.equals("StableVideoDiffusionPipeline");
        rejectOptionsOfTheOtherModel(pipeline, svd);
        if (!svd && !demo && prompt == null) fail("--prompt is required with an I2VGenXLPipeline --model");
        long sd = seed != null ? seed : new java.security.SecureRandom().nextLong() & 0xffffffffL;
        if (svd) {
            return new GenerateSettings(model, pipeline, image, null, null, or(height, 576), or(width, 1024), frames,
                    or(steps, 25), 0, or(minGuidance, 1.0), or(maxGuidance, 3.0), or(fps, 7), 0, or(motionBucketId, 127),
                    or(noiseAugStrength, 0.02), sd, chunk, schedulerSpec, backendName, dt, output);
        }
        return new GenerateSettings(model, pipeline, image, prompt, negativePrompt, or(height, demo ? 32 : 704),
                or(width, demo ? 48 : 1280), or(frames, demo ? 4 : 16), or(steps, demo ? 3 : 50), or(guidance, 9.0), 0, 0,
                or(fps, 16), or(eta, 0.0), 0, 0, sd, decodeChunk == null ? Integer.valueOf(1) : chunk, schedulerSpec,
                backendName, dt, output);
    }

    /** Options of one model family given for the other: an error naming the option and the checkpoint's pipeline. */
    private void rejectOptionsOfTheOtherModel(String pipeline, boolean svd) {
        Map<String, Object> foreign = new LinkedHashMap<>();
        if (svd) {
            foreign.put("--prompt", prompt);
            foreign.put("--negative-prompt", negativePrompt);
            foreign.put("--guidance", guidance);
            foreign.put("--eta", eta);
        } else {
            foreign.put("--min-guidance", minGuidance);
            foreign.put("--max-guidance", maxGuidance);
            foreign.put("--motion-bucket-id", motionBucketId);
            foreign.put("--noise-aug-strength", noiseAugStrength);
        }
        foreign.forEach((option, value) -> {
            if (value != null) {
                fail(option + " is not an option of " + pipeline + (svd ? " (Stable Video Diffusion takes an image and no prompt;"
                        + " its guidance is --min-guidance/--max-guidance)" : " (it is a Stable Video Diffusion option)")
                        + (model == null ? "; without --model the built-in I2VGen-XL demo runs" : "; --model " + model + " is " + pipeline));
            }
        });
    }

    private String pipelineClassOf(Path dir) {
        try {
            return VideoPipelines.pipelineClass(dir);
        } catch (CheckpointException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--model: " + e.getMessage());
        }
    }

    private Integer parseChunk(String s) {
        if (s.equalsIgnoreCase("all")) return null;
        try {
            int v = Integer.parseInt(s);
            if (v < 1) fail("--decode-chunk must be >= 1 or 'all', got " + s);
            return v;
        } catch (NumberFormatException e) {
            fail("--decode-chunk must be a number >= 1 or 'all', got '" + s + "'");
            return null;
        }
    }

    private static <T> T or(T v, T d) { return v != null ? v : d; }

    private void fail(String message) { throw new CommandLine.ParameterException(spec.commandLine(), message); }
}
