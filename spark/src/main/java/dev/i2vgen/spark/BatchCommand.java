package dev.i2vgen.spark;

import dev.i2vgen.cli.GenerateArguments;
import dev.i2vgen.cli.ModelOptions;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code i2vgen batch}: one video per row of a job list (CSV or Parquet), on a local Spark or a cluster. Every check
 * that needs no Spark (options, the generation defaults as {@code generate} checks them, the checkpoint, the output
 * folder) runs before Spark starts. This class names no Spark type, so that the CLI can list it without Spark.
 */
@Command(name = "batch", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generate one video per row of a job list on Apache Spark, local or on a cluster.",
                "Columns: image, prompt, negative_prompt, seed, and optionally any option of",
                "'i2vgen generate' named like its long option (steps, guidance, decode-chunk or",
                "decode_chunk, ...). Any generate option given here (--steps 25,",
                "--negative-prompt TEXT, ...) is the default for every row.",
                "Writes one video per row into --output, named from a hash of its inputs (a rerun",
                "skips finished rows), and OUTPUT/results.csv: the input columns plus output_path,",
                "status (succeeded or failed), error, seconds. Exit code 1 when a row failed.", ""})
public final class BatchCommand implements Callable<Integer> {
    /** Stand-in output name for checking the defaults before any row is known. */
    private static final String PENDING = ".i2vgen-batch-pending";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** --model DIR|ORG/NAME and --revision, as generate takes them: a Hub model is fetched on the driver, before Spark starts. */
    @CommandLine.Mixin
    ModelOptions modelOptions = new ModelOptions();

    /** The checkpoint folder --model resolved to (on a cluster it must be at the same path on every executor); null: the demo. */
    private Path model;

    @Option(names = "--input", required = true, paramLabel = "jobs.csv|jobs.parquet",
            description = "the job list: a CSV file with a header line, or Parquet; relative image paths are read from its folder")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "folder for the videos and results.csv, on every executor (created if missing)")
    Path output;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master, e.g. local[4] or spark://host:7077 (default: spark-submit's, else local[*])")
    String master;

    @Option(names = "--device", defaultValue = "auto", description = "auto (CUDA on a task's GPU, else the JVM backend), jvm, cuda or opencl (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--format", defaultValue = "mp4", description = "mp4, gif or png (a folder of frames per row) (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--partitions", paramLabel = "N", description = "Spark tasks to spread the rows over (default: one per row)")
    Integer partitions;

    @CommandLine.Unmatched
    List<String> generationOptions = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (!sparkOnClassPath()) fail("Apache Spark is not on the class path: run './i2vgen batch ...' (which adds Spark's"
                + " jars), or 'spark-submit spark/target/i2vgen-spark.jar batch ...' (README: Batch generation on Spark)");
        BatchSettings settings = validate();
        boolean csv = Files.isRegularFile(input) && input.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv");
        return new BatchJob(settings, input.toAbsolutePath(), csv, master, partitions, spec.commandLine()).run();
    }

    /** Checks everything that needs no Spark; the generation defaults exactly as {@code generate} checks them. */
    BatchSettings validate() throws IOException {
        BatchSettings.Builder builder = BatchSettings.builder(output.toAbsolutePath().toString());
        if (modelOptions.given()) {
            modelOptions.check(spec.commandLine());
            DType precision;
            try {
                precision = DType.fromPrecision(dtype);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--dtype: " + e.getMessage());
            }
            try (ModelOptions m = modelOptions) {
                model = m.checkpointFolder(precision, spec.commandLine());
            }
        }
        try {
            builder.device(device).format(format);
        } catch (IllegalArgumentException e) {
            fail("--" + e.getMessage());
        }
        if (partitions != null && partitions < 1) fail("--partitions must be at least 1, got " + partitions);
        String inputName = input.getFileName() == null ? "" : input.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!Files.exists(input)) fail("--input " + input + " does not exist");
        if (!Files.isDirectory(input) && !inputName.endsWith(".csv") && !inputName.endsWith(".parquet")) {
            fail("--input " + input + ": expected a .csv or .parquet file (or a folder of Parquet files)");
        }
        if (!Files.isReadable(input)) fail("--input " + input + " is not readable");
        try {
            Files.createDirectories(output);
        } catch (IOException e) {
            fail("--output: cannot create the folder " + output + " (" + e + ")");
        }
        Map<String, String> defaults = defaults();
        GenerateArguments checked = checkDefaults(defaults);
        CheckpointFolder.open(checked.modelFolder()).validate();   // every config and weights header, before Spark starts
        Path base = input.toAbsolutePath().getParent();
        return builder.model(model == null ? null : model.toAbsolutePath().toString()).dtype(dtype).options(defaults)
                .imageBase(base == null ? null : base.toString()).build();
    }

    /** The generation options given as defaults, read as {@code generate} reads them; images made absolute. */
    private Map<String, String> defaults() {
        Map<String, String> defaults = new LinkedHashMap<>();
        try {
            defaults.putAll(GenerateArguments.readOptions(generationOptions));
        } catch (CommandLine.ParameterException e) {
            String suggestions = e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()
                    ? "; did you mean " + String.join(" or ", u.getSuggestions()) + "?" : "";
            fail(e.getMessage() + suggestions + " ('i2vgen batch --help' and 'i2vgen generate --help' list the options)");
        }
        for (String name : defaults.keySet()) {
            try {
                BatchSettings.checkOptionName(name, "option");
            } catch (IllegalArgumentException e) {
                fail("--" + name + ": " + e.getMessage());
            }
        }
        defaults.computeIfPresent("image", (k, v) -> Path.of(v).toAbsolutePath().toString());
        return defaults;
    }

    /**
     * The defaults checked by {@code generate}'s validation, completed where a row would complete them: the demo image
     * for the image, seed 0, a prompt for I2VGen-XL (these stand-ins are never used for a video).
     */
    private GenerateArguments checkDefaults(Map<String, String> defaults) {
        List<String> args = new ArrayList<>();
        if (model != null) args.add("--model=" + model.toAbsolutePath());
        args.add("--device=" + (device.equalsIgnoreCase("auto") ? "jvm" : device));
        args.add("--dtype=" + dtype);
        args.add("--output=" + output.toAbsolutePath().resolve(format.equalsIgnoreCase("png") ? PENDING : PENDING + "." + format));
        defaults.forEach((name, value) -> args.add("--" + name + "=" + value));
        if (!defaults.containsKey("image")) args.add("--image=" + GenerateArguments.demoImage());
        if (!defaults.containsKey("seed")) args.add("--seed=0");
        if (!defaults.containsKey("prompt") && !isSvd()) args.add("--prompt=stand-in");
        try {
            return GenerateArguments.parse(args);
        } catch (CommandLine.ParameterException e) {
            fail(e.getMessage());
            return null;
        }
    }

    /** Whether --model is a Stable Video Diffusion checkpoint (which takes no prompt); a broken folder is reported by the check. */
    private boolean isSvd() {
        if (model == null || !Files.isDirectory(model)) return false;
        try {
            return "StableVideoDiffusionPipeline".equals(VideoPipelines.pipelineClass(model));
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean sparkOnClassPath() {
        try {
            Class.forName("org.apache.spark.sql.SparkSession", false, BatchCommand.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    private void fail(String message) { throw new CommandLine.ParameterException(spec.commandLine(), message); }
}
