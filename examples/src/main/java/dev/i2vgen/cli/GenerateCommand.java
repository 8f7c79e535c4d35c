package dev.i2vgen.cli;

import dev.i2vgen.io.video.VideoWriters;
import dev.i2vgen.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code i2vgen generate}: options as in diffusers' I2VGenXLPipeline, validated before any work starts. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a video from an image and a prompt. Without --model, runs the built-in tiny demo model.")
public final class GenerateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "diffusers checkpoint folder of I2VGen-XL (default: built-in tiny demo model)")
    Path model;

    @Option(names = "--image", paramLabel = "FILE", description = "input image (PNG, JPEG, BMP, GIF); default with the demo model: its test image")
    Path image;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "what the video should show")
    String prompt;

    @Option(names = "--negative-prompt", paramLabel = "TEXT", description = "what to steer away from (used when guidance > 1)")
    String negativePrompt;

    @Option(names = "--height", description = "output height in pixels, a multiple of 8 (default: 704; demo model: 32)")
    Integer height;

    @Option(names = "--width", description = "output width in pixels, a multiple of 8 (default: 1280; demo model: 48)")
    Integer width;

    @Option(names = "--frames", description = "number of frames (default: 16; demo model: 4)")
    Integer frames;

    @Option(names = "--steps", description = "DDIM steps (default: 50; demo model: 3)")
    Integer steps;

    @Option(names = "--guidance", defaultValue = "9.0", description = "classifier-free guidance scale; > 1 turns CFG on (default: ${DEFAULT-VALUE})")
    double guidance;

    @Option(names = "--fps", defaultValue = "16", description = "frame rate: the UNet's fps condition and the video's rate (default: ${DEFAULT-VALUE})")
    int fps;

    @Option(names = "--eta", defaultValue = "0", description = "DDIM eta, 0 = deterministic (default: ${DEFAULT-VALUE})")
    double eta;

    @Option(names = "--seed", description = "random seed; draws the same noise as torch.manual_seed(seed) (default: random)")
    Long seed;

    @Option(names = "--decode-chunk", paramLabel = "N|all", defaultValue = "1", description = "frames per VAE decode call, or 'all' (default: ${DEFAULT-VALUE})")
    String decodeChunk;

    @Option(names = "--device", defaultValue = "jvm", description = "jvm, cuda or opencl (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--output", paramLabel = "out.mp4|out.gif|DIR/", required = true, description = "MP4, GIF, or a folder of PNG frames")
    Path output;

    @Override
    public Integer call() throws Exception {
        GenerateSettings settings = validate();
        return new GenerateRun(settings, spec.commandLine().getOut(), spec.commandLine().getErr()).run();
    }

    /** Checks every option and resolves defaults; throws a ParameterException naming the option. */
    GenerateSettings validate() {
        boolean demo = model == null;
        int h = orDefault(height, demo ? 32 : 704);
        int w = orDefault(width, demo ? 48 : 1280);
        int f = orDefault(frames, demo ? 4 : 16);
        int s = orDefault(steps, demo ? 3 : 50);
        if (h <= 0 || h % 8 != 0) fail("--height must be a positive multiple of 8, got " + h);
        if (w <= 0 || w % 8 != 0) fail("--width must be a positive multiple of 8, got " + w);
        if (f < 1) fail("--frames must be at least 1, got " + f);
        if (s < 1 || s > 1000) fail("--steps must be between 1 and 1000 (the scheduler's training steps), got " + s);
        if (!Double.isFinite(guidance) || guidance < 0) fail("--guidance must be a finite number >= 0, got " + guidance);
        if (fps < 1) fail("--fps must be at least 1, got " + fps);
        if (!Double.isFinite(eta) || eta < 0) fail("--eta must be >= 0, got " + eta);
        Integer chunk = parseChunk(decodeChunk);
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
        if (!demo && prompt == null) fail("--prompt is required with --model");
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
        long sd = seed != null ? seed : new java.security.SecureRandom().nextLong() & 0xffffffffL;
        return new GenerateSettings(model, image, prompt, negativePrompt, h, w, f, s, guidance, fps, eta, sd, chunk, backendName, dt, output);
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

    private static int orDefault(Integer v, int d) { return v != null ? v : d; }

    private void fail(String message) { throw new CommandLine.ParameterException(spec.commandLine(), message); }
}
