package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.CliErrors;
import dev.i2vgen.cli.GenerationParameters;
import dev.i2vgen.cli.ModelCheckpoint;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.image.UnreadableImageException;
import dev.i2vgen.io.video.Mp4VideoWriter;
import picocli.CommandLine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns the form of {@code POST /v1/videos} into a job, or refuses it before anything is queued: the fields become
 * {@code --name=value} arguments parsed and validated exactly as {@code i2vgen generate} parses and validates them
 * (so a bad value gets the command line's message), then the server's limits, the scheduler against the checkpoint,
 * the image (decoded once) and the sizes the run can hold are checked. Refusals are {@link ApiError}s: 400, or 413 for
 * an image over the upload limit.
 */
final class JobSubmission {
    /** Options of {@code i2vgen generate} that are not a job's: naming one in the form is an error that says why. */
    private static final Map<String, String> NOT_PER_JOB = Map.of(
            "model", "--model is an option of the server (i2vgen serve --model), not of a job",
            "device", "--device is an option of the server (i2vgen serve --device), not of a job",
            "dtype", "--dtype is an option of the server (i2vgen serve --dtype), not of a job",
            "output", "--output is not an option of a job: the server writes the video to its --output-dir; fetch it from GET /v1/videos/{id}/content",
            "save-intermediate", "--save-intermediate is only an option of i2vgen generate: the server keeps the final video alone");
    private static final SecureRandom IDS = new SecureRandom();

    /** An uploaded file: its name as the client gave it, and its bytes. */
    record Upload(String fileName, byte[] content) {}

    private final ModelCheckpoint checkpoint;
    private final JobLimits limits;
    private final Path uploadDir;

    JobSubmission(ModelCheckpoint checkpoint, JobLimits limits, Path uploadDir) {
        this.checkpoint = checkpoint;
        this.limits = limits;
        this.uploadDir = uploadDir;
    }

    /** A validated job with its image stored for the worker ({@code image} null: the demo's, or a 400 for a real model). */
    Job create(Map<String, List<String>> fields, Upload image) {
        GenerationParameters p = parameters(fields);
        checkLimits(p);
        try {
            checkpoint.checkScheduler(p);
        } catch (CliErrors.BadInputException e) {
            throw new ApiError(400, e.getMessage());
        }
        String id = HexFormat.of().formatHex(randomBytes());
        Path stored = store(id, image);
        try {
            checkpoint.checkSizes(p.toRequest(readImage(stored, image)));
            return new Job(id, p, stored);
        } catch (RuntimeException e) {
            JobStore.deleteQuietly(stored);
            if (e instanceof ApiError) throw e;
            if (CliErrors.isBadInput(e)) throw new ApiError(400, CliErrors.message(e));
            throw e;
        }
    }

    /** The form fields parsed and validated by the command line's definitions; 400 with its message. */
    GenerationParameters parameters(Map<String, List<String>> fields) {
        CommandLine cl = new CommandLine(new JobOptions());
        try {
            cl.parseArgs(arguments(fields, cl).toArray(String[]::new));
            GenerationParameters p = ((JobOptions) cl.getCommand()).options.validate(checkpoint.demo() ? null : checkpoint.dir(),
                    checkpoint.pipelineClass(), cl);
            if (p.width() < Mp4VideoWriter.MIN_SIDE || p.height() < Mp4VideoWriter.MIN_SIDE) {
                throw new ApiError(400, "--width and --height must be at least " + Mp4VideoWriter.MIN_SIDE + " for the MP4 this"
                        + " server writes (the H.264 encoder's minimum), got " + p.width() + "×" + p.height());
            }
            return p;
        } catch (CommandLine.ParameterException e) {
            throw new ApiError(400, CliErrors.parseErrorMessage(e, "GET /v1/models lists the fields"));
        }
    }

    /** Each field as {@code --name=value} (a flag as {@code --name} when true); unknown and server-only names refused. */
    private static List<String> arguments(Map<String, List<String>> fields, CommandLine cl) {
        List<String> args = new ArrayList<>();
        fields.forEach((name, values) -> {
            if (name.equals("image")) {
                throw new ApiError(400, "'image' must be a file part of a multipart/form-data request (curl -F image=@photo.png)");
            }
            String option = "--" + name;
            if (NOT_PER_JOB.containsKey(name)) throw new ApiError(400, NOT_PER_JOB.get(name));
            CommandLine.Model.OptionSpec spec = cl.getCommandSpec().findOption(option);
            if (spec == null || name.startsWith("-")) throw new CommandLine.UnmatchedArgumentException(cl, List.of(option));
            for (String value : values) {
                if (spec.arity().max() > 0) args.add(option + "=" + value);
                else if (flag(option, value)) args.add(option);
            }
        });
        return args;
    }

    /** A flag's form value: true/on/1 (or empty, as a checkbox may send it) sets it, false/off/0 leaves it unset. */
    private static boolean flag(String option, String value) {
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "", "true", "on", "1", "yes" -> true;
            case "false", "off", "0", "no" -> false;
            default -> throw new ApiError(400, option + " is a flag: true or false, got '" + value + "'");
        };
    }

    /** The server's limits of one job (pixels, frames, steps), before anything is queued. */
    private void checkLimits(GenerationParameters p) {
        long pixels = (long) p.height() * p.width();
        if (pixels > limits.maxPixels()) {
            throw new ApiError(400, "--height × --width must be at most " + limits.maxPixels() + " pixels on this server (i2vgen serve"
                    + " --max-pixels), got " + p.height() + " × " + p.width() + " = " + pixels);
        }
        int frames = checkpoint.frames(p);
        if (frames > limits.maxFrames()) {
            throw new ApiError(400, "--frames must be at most " + limits.maxFrames() + " on this server (i2vgen serve --max-frames), got "
                    + frames + (p.frames() == null ? " (the model's default)" : ""));
        }
        if (p.steps() > limits.maxSteps()) {
            throw new ApiError(400, "--steps must be at most " + limits.maxSteps() + " on this server (i2vgen serve --max-steps), got " + p.steps());
        }
    }

    /** The upload (or the demo's image) as a file of the job's own, for the worker to read when the job runs. */
    private Path store(String id, Upload image) {
        if (image == null && !checkpoint.demo()) {
            throw new ApiError(400, "the form field 'image' (the input image file) is required: curl -F image=@photo.png ...");
        }
        if (image != null && image.content().length > limits.maxUploadBytes()) throw tooLarge(image.content().length, limits);
        try {
            Path file = uploadDir.resolve(id + ".image");
            if (image == null) Files.copy(checkpoint.demoImage(), file);
            else Files.write(file, image.content());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store the uploaded image in " + uploadDir, e);
        }
    }

    /** The image decoded (the message names the uploaded file, not where the server keeps it). */
    private static dev.i2vgen.io.image.RgbImage readImage(Path stored, Upload image) {
        try {
            return ImageLoader.read(stored);
        } catch (UnreadableImageException e) {
            String name = image == null ? "the demo image" : "image '" + image.fileName() + "'";
            throw new ApiError(400, e.getMessage().replace(stored.toString(), name));
        }
    }

    static ApiError tooLarge(long bytes, JobLimits limits) {
        return new ApiError(413, "the upload is " + bytes + " bytes, more than the " + limits.maxUploadBytes()
                + " bytes this server takes (i2vgen serve --max-upload)");
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[16];
        IDS.nextBytes(b);
        return b;
    }
}
