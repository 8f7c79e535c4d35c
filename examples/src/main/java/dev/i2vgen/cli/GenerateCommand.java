package dev.i2vgen.cli;

import dev.i2vgen.sampler.scheduler.Schedulers;
import dev.i2vgen.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
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

    /** --model DIR|ORG/NAME and --revision; made by the command line's factory (the Hub settings' environment). */
    @CommandLine.Mixin
    ModelOptions modelOptions;

    @Option(names = "--image", paramLabel = "FILE", description = "input image (PNG, JPEG, BMP, GIF); default with the demo model: its test image")
    Path image;

    @CommandLine.Mixin
    GenerationOptions options = new GenerationOptions();

    @Option(names = "--save-intermediate", paramLabel = "DIR/|out.mp4|out.gif",
            description = "I4VGen: also write the decoded NI-VSDS result there (PNG frames in a folder, or a video)")
    Path saveIntermediate;

    @CommandLine.Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    @Option(names = "--output", paramLabel = "out.mp4|out.gif|DIR/", description = "MP4, GIF, or a folder of PNG frames (required)")
    Path output;

    @Override
    public Integer call() throws Exception {
        if (options.listSchedulers()) {
            spec.commandLine().getOut().print(Schedulers.describe());
            spec.commandLine().getOut().flush();
            return 0;
        }
        GenerateSettings settings;
        try (ModelOptions hub = modelOptions) {   // the Hub connection is needed only until the folder is resolved
            settings = validate();
        }
        return new GenerateRun(settings, spec.commandLine().getOut(), spec.commandLine().getErr()).run();
    }

    /**
     * Checks every option and resolves the model's defaults; throws a ParameterException naming the option. A Hub model
     * is resolved last, once everything else has passed: model_index.json for the checks, then the files the run loads.
     */
    GenerateSettings validate() {
        CommandLine cl = spec.commandLine();
        boolean demo = !modelOptions.given();
        GenerationOptions.CheckedValues checked = options.checkValues(demo, saveIntermediate, cl);
        if (output == null) fail("Missing required option: '--output=out.mp4|out.gif|DIR/'");
        String backendName = deviceOptions.backendName(cl);
        java.util.List<Integer> ordinals = deviceOptions.ordinals(backendName, cl);
        DType dt = deviceOptions.precision(cl);
        modelOptions.check(cl);
        if (!demo && image == null) fail("--image is required with --model");
        if (image != null && !Files.isRegularFile(image)) fail("--image " + image + " does not exist or is not a file");
        if (image != null && !Files.isReadable(image)) fail("--image " + image + " is not readable");
        GenerationOptions.checkWritableTarget("--output", output, cl);

        String pipeline = demo ? "I2VGenXLPipeline" : modelOptions.pipelineClass(cl);
        GenerationParameters job = options.resolve(checked, modelOptions.named(), pipeline, cl);
        GenerationOptions.checkFrameSize("--output", output, job.width(), job.height(), cl);
        if (saveIntermediate != null) GenerationOptions.checkFrameSize("--save-intermediate", saveIntermediate, job.width(), job.height(), cl);
        Path model = demo ? null : modelOptions.checkpointFolder(dt, cl);
        return new GenerateSettings(model, image, job, saveIntermediate, backendName, ordinals, dt, output);
    }

    private void fail(String message) { throw new CommandLine.ParameterException(spec.commandLine(), message); }
}
