package dev.i2vgen.cli;

import dev.i2vgen.sampler.pipeline.GeneratedVideo;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.tensor.DType;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code i2vgen generate} run given by its command-line arguments, validated exactly as the command validates
 * them (same checks, same messages), and run on a pipeline the caller holds: for callers that run many videos on one
 * pipeline, such as batch generation (the spark module), which keeps one pipeline per device.
 */
public final class GenerateArguments {
    private final GenerateSettings settings;

    private GenerateArguments(GenerateSettings settings) {
        this.settings = settings;
    }

    /**
     * Parses and validates {@code generate}'s arguments (no weights are read).
     *
     * @throws CommandLine.ParameterException with the message {@code i2vgen generate} prints after "error: "
     */
    public static GenerateArguments parse(List<String> args) {
        GenerateCommand command = new GenerateCommand();
        new CommandLine(command).parseArgs(args.toArray(String[]::new));
        return new GenerateArguments(command.validate());
    }

    /**
     * {@code generate}'s options among {@code args}, checked for names and value types as the command checks them,
     * as long option name (without "--") → value text: a flag given without a value is "true", a split list its
     * values joined by ','. Nothing else is validated.
     *
     * @throws CommandLine.ParameterException naming an unknown option or a value of the wrong type
     */
    public static Map<String, String> readOptions(List<String> args) {
        CommandLine.ParseResult parsed = new CommandLine(new GenerateCommand()).parseArgs(args.toArray(String[]::new));
        Map<String, String> options = new LinkedHashMap<>();
        for (CommandLine.Model.OptionSpec o : parsed.matchedOptions()) {
            List<String> values = o.originalStringValues();
            options.put(o.longestName().substring(2), values.isEmpty() ? "true" : String.join(",", values));
        }
        return options;
    }

    /** The long names (without "--") of {@code generate}'s options, help and version included, in its --help order. */
    public static List<String> optionNames() {
        return new CommandLine(new GenerateCommand()).getCommandSpec().options().stream()
                .map(o -> o.longestName().substring(2)).toList();
    }

    /** The validated settings (tests run a {@link GenerateRun} of their own). */
    GenerateSettings settings() { return settings; }

    /** The built-in demo model's input image (unpacked). */
    public static Path demoImage() {
        return DemoModel.unpack().resolve("input.png");
    }

    /** The checkpoint folder to load, the built-in demo model's (unpacked) when --model was not given. */
    public Path modelFolder() {
        return settings.model() != null ? settings.model() : DemoModel.unpack().resolve("checkpoint");
    }

    /** The input image, the demo model's when --image was not given. */
    public Path image() {
        return settings.image() != null ? settings.image() : demoImage();
    }

    public DType dtype() { return settings.dtype(); }

    /**
     * Every validated setting that changes the video, defaults resolved, as one line of text: two runs with the same
     * text, image and checkpoint make the same video (up to the backend's rounding). The model folder, image path,
     * device and outputs are left out: they are not among the video's parameters ({@link GenerationParameters}).
     */
    public String videoParameters() {
        StringBuilder text = new StringBuilder();
        for (RecordComponent c : GenerationParameters.class.getRecordComponents()) {
            try {
                text.append(c.getName()).append('=').append(c.getAccessor().invoke(settings.job())).append(';');
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read the setting " + c.getName(), e);
            }
        }
        return text.append("dtype=").append(settings.dtype()).append(';').toString();
    }

    /**
     * Makes the video and writes it to {@link #output()} on {@code pipeline}, which must be the pipeline of
     * {@link #modelFolder()}: the checks, request and video file of {@code i2vgen generate}.
     */
    public GeneratedVideo writeVideo(VideoPipeline pipeline, PipelineListener listener) throws IOException {
        PrintWriter silent = new PrintWriter(Writer.nullWriter());
        return new GenerateRun(settings, silent, silent).writeVideoWith(pipeline, listener);
    }

    /** The one line {@code i2vgen} prints for a failure (after "error: "), naming the option, file or stage. */
    public static String errorMessage(Throwable failure) {
        return CliErrors.message(failure);
    }
}
