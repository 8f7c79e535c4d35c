package dev.i2vgen.spark;

import dev.i2vgen.cli.GenerateArguments;
import org.apache.spark.TaskContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One row's video, in a task: the row's options over the job's defaults, validated by {@code i2vgen generate}'s own
 * parsing (so a bad value gets the command's message), named from its inputs ({@link OutputNames}), skipped when
 * that video exists, else made on this executor's pipeline for the task's device. A bad row (an unreadable image, a
 * bad parameter) or a failure while it runs is reported in its outcome; it never fails the task.
 */
final class RowGeneration {
    /** Stand-in output for the first validation, before the row's output name is known (never written). */
    private static final String PENDING = ".i2vgen-batch-pending";

    private final BatchSettings settings;
    private final JobColumns columns;
    private final Path outputDir;

    RowGeneration(BatchSettings settings, JobColumns columns) {
        this.settings = settings;
        this.columns = columns;
        this.outputDir = Path.of(settings.outputDir()).toAbsolutePath();
    }

    /** What became of one row. {@code outputPath} is null when it failed, {@code device} null unless it ran. */
    record Outcome(String outputPath, boolean succeeded, String error, double seconds, String device) {
        static final String SUCCEEDED = "succeeded", FAILED = "failed";

        String status() { return succeeded ? SUCCEEDED : FAILED; }
    }

    /** Makes (or finds) the row's video; a failure becomes the outcome's error, in {@code i2vgen}'s words. */
    Outcome run(org.apache.spark.sql.Row row) {
        long start = System.nanoTime();
        try {
            Map<String, String> options = columns.options(row, settings.options(), settings.imageBase());
            if (!options.containsKey("seed")) throw new IllegalArgumentException("the row has no seed (column '"
                    + settings.seedCol() + "') and the job has no default --seed: a batch video is named from its inputs,"
                    + " so that a rerun skips it, and needs a fixed seed");
            TaskDevice device = TaskDevice.current();
            String backend = device.backendName(settings.device());
            Files.createDirectories(outputDir);
            GenerateArguments checked = GenerateArguments.parse(arguments(options, backend, outputDir.resolve(pendingName())));
            Path output = outputDir.resolve(OutputNames.of(checked, settings.format()));
            if (Files.exists(output)) return new Outcome(output.toString(), true, null, seconds(start), null);
            GenerateArguments args = GenerateArguments.parse(arguments(options, backend, output));
            ExecutorPipelines.Slot slot = ExecutorPipelines.slot(
                    new ExecutorPipelines.Key(args.modelFolder(), backend, device.gpuAddress(), args.dtype()));
            slot.writeVideo(args, device);
            return new Outcome(output.toString(), true, null, seconds(start),
                    device.describe(backend) + ", pipeline " + slot.number());
        } catch (Exception | OutOfMemoryError | StackOverflowError e) {
            TaskContext task = TaskContext.get();
            if (task != null && task.isInterrupted()) throw new IllegalStateException("the task was killed", e);
            return new Outcome(null, false, GenerateArguments.errorMessage(e), seconds(start), null);
        }
    }

    /** {@code generate}'s arguments for the row: the job's model, device and precision, the row's options, the output. */
    private List<String> arguments(Map<String, String> options, String backend, Path output) {
        List<String> args = new ArrayList<>();
        if (settings.model() != null) args.add("--model=" + settings.model());
        args.add("--device=" + backend);
        args.add("--dtype=" + settings.dtype());
        args.add("--output=" + output);
        options.forEach((name, value) -> args.add("--" + name + "=" + value));
        return args;
    }

    private String pendingName() {
        return settings.format().equals("png") ? PENDING : PENDING + "." + settings.format();
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
