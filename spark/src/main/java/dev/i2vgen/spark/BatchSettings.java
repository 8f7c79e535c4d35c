package dev.i2vgen.spark;

import dev.i2vgen.cli.GenerateArguments;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What a batch generation job does for every row: the checkpoint, where the videos go, the device and precision, and
 * the defaults of {@code i2vgen generate}'s options that a row's columns may override. Serializable: it travels with
 * the tasks (paths as text, valid on every executor: a shared file system).
 *
 * <pre>{@code
 * BatchSettings settings = BatchSettings.builder("/shared/videos").model("/shared/i2vgen-xl")
 *         .dtype("fp16").option("steps", "25").build();
 * Dataset<Row> results = VideoBatch.generate(jobs, settings);
 * }</pre>
 */
public final class BatchSettings implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Backends a row may run on: {@code auto} is CUDA on a task that holds a GPU, the JVM backend on one that does not. */
    public static final List<String> DEVICES = List.of("auto", "jvm", "cuda", "opencl");
    /** Video formats: MP4 or GIF files, or a folder of PNG frames. */
    public static final List<String> FORMATS = List.of("mp4", "gif", "png");
    /**
     * Options of {@code generate} that belong to the job, not to a row: a pipeline serves one checkpoint, device and
     * precision, and each row's output is named from its inputs.
     */
    static final Set<String> JOB_LEVEL_OPTIONS = Set.of("model", "device", "dtype", "output");
    /** Options of {@code generate} that batch generation does not offer: one output per row, one GPU per task. */
    static final Set<String> NOT_IN_BATCH = Set.of("save-intermediate", "devices");
    /** Options of {@code generate} that are not generation parameters at all. */
    static final Set<String> NOT_PARAMETERS = Set.of("help", "version");

    private final String model;
    private final String outputDir;
    private final String device;
    private final String dtype;
    private final String format;
    private final Map<String, String> options;
    private final String imageBase;
    private final String imageCol, promptCol, negativePromptCol, seedCol, deviceCol;

    private BatchSettings(Builder b) {
        model = b.model;
        outputDir = b.outputDir;
        device = b.device;
        dtype = b.dtype;
        format = b.format;
        options = new LinkedHashMap<>(b.options);
        imageBase = b.imageBase;
        imageCol = b.imageCol;
        promptCol = b.promptCol;
        negativePromptCol = b.negativePromptCol;
        seedCol = b.seedCol;
        deviceCol = b.deviceCol;
    }

    /** Settings writing into {@code outputDir} (created on the executors when missing), the rest at its defaults. */
    public static Builder builder(String outputDir) {
        return new Builder(outputDir);
    }

    /** A builder holding these settings, to change some. */
    public Builder toBuilder() {
        return builder(outputDir).model(model).device(device).dtype(dtype).format(format).options(options).imageBase(imageBase)
                .imageCol(imageCol).promptCol(promptCol).negativePromptCol(negativePromptCol).seedCol(seedCol).deviceCol(deviceCol);
    }

    /** The checkpoint folder, or null for the built-in tiny demo model. */
    public String model() { return model; }

    public String outputDir() { return outputDir; }

    /** auto, jvm, cuda or opencl. */
    public String device() { return device; }

    /** fp32, fp16 or bf16. */
    public String dtype() { return dtype; }

    /** mp4, gif or png. */
    public String format() { return format; }

    /** Defaults of {@code generate}'s options for every row: long option name (without "--") → value text. */
    public Map<String, String> options() { return Collections.unmodifiableMap(options); }

    /** The folder relative image paths are read from, or null to take them as they are. */
    public String imageBase() { return imageBase; }

    public String imageCol() { return imageCol; }

    public String promptCol() { return promptCol; }

    public String negativePromptCol() { return negativePromptCol; }

    public String seedCol() { return seedCol; }

    /** The output column that tells which executor, GPU address, backend and pipeline made each row, or null for none. */
    public String deviceCol() { return deviceCol; }

    /** Options with diffusers'/the CLI's defaults: auto device, fp32, MP4, the columns image, prompt, negative_prompt, seed. */
    public static final class Builder {
        private String model;
        private final String outputDir;
        private String device = "auto";
        private String dtype = "fp32";
        private String format = "mp4";
        private final Map<String, String> options = new LinkedHashMap<>();
        private String imageBase;
        private String imageCol = "image", promptCol = "prompt", negativePromptCol = "negative_prompt", seedCol = "seed";
        private String deviceCol;

        private Builder(String outputDir) {
            this.outputDir = Objects.requireNonNull(outputDir, "outputDir");
        }

        /** The diffusers checkpoint folder (I2VGen-XL or Stable Video Diffusion); null (the default) for the demo model. */
        public Builder model(String model) { this.model = model; return this; }

        /** auto (default: CUDA on the task's GPU, else the JVM backend), jvm, cuda or opencl. */
        public Builder device(String device) {
            this.device = oneOf("device", device, DEVICES);
            return this;
        }

        /** fp32 (default), fp16 or bf16; checked as {@code generate --dtype} checks it, per row. */
        public Builder dtype(String dtype) { this.dtype = Objects.requireNonNull(dtype, "dtype"); return this; }

        /** mp4 (default), gif or png (a folder of frames per row). */
        public Builder format(String format) {
            this.format = oneOf("format", format, FORMATS);
            return this;
        }

        /**
         * The default of one of {@code generate}'s options (long name without "--", e.g. {@code steps}, or
         * {@code i4vgen} with "true") for every row; a row's column of that name overrides it.
         *
         * @throws IllegalArgumentException for a name {@code generate} does not know or one that is set per job
         */
        public Builder option(String name, String value) {
            options.put(BatchSettings.checkOptionName(name, "option"), Objects.requireNonNull(value, name));
            return this;
        }

        /** Defaults of several options, as {@link #option}. */
        public Builder options(Map<String, String> defaults) {
            defaults.forEach(this::option);
            return this;
        }

        /** Relative image paths are read from this folder (default: as they are, from each executor's working folder). */
        public Builder imageBase(String folder) { this.imageBase = folder; return this; }

        public Builder imageCol(String column) { this.imageCol = Objects.requireNonNull(column); return this; }

        public Builder promptCol(String column) { this.promptCol = Objects.requireNonNull(column); return this; }

        public Builder negativePromptCol(String column) { this.negativePromptCol = Objects.requireNonNull(column); return this; }

        public Builder seedCol(String column) { this.seedCol = Objects.requireNonNull(column); return this; }

        /** Adds an output column naming the executor, GPU address, backend and pipeline that made each row (off by default). */
        public Builder deviceCol(String column) { this.deviceCol = column; return this; }

        public BatchSettings build() { return new BatchSettings(this); }
    }

    /**
     * A name of {@code generate}'s options that may vary per row (and so have a batch default).
     *
     * @throws IllegalArgumentException naming it, for a name generate does not know or one that is set per job
     */
    static String checkOptionName(String name, String what) {
        Objects.requireNonNull(name, what);
        if (JOB_LEVEL_OPTIONS.contains(name)) throw new IllegalArgumentException(what + " '" + name + "' is set for the"
                + " whole job, not per row (a pipeline serves one checkpoint, device and precision; each row's output is"
                + " named from its inputs)");
        if (NOT_IN_BATCH.contains(name)) throw new IllegalArgumentException(what + " '" + name + "' is not available in"
                + " batch generation (one output per row; each task runs on the one GPU Spark gives it)");
        if (NOT_PARAMETERS.contains(name) || !GenerateArguments.optionNames().contains(name)) {
            throw new IllegalArgumentException(what + " '" + name + "' is not an option of i2vgen generate (expected one of "
                    + String.join(", ", rowOptionNames()) + ")");
        }
        return name;
    }

    /** generate's options a row may set. */
    static List<String> rowOptionNames() {
        return GenerateArguments.optionNames().stream().filter(n -> !JOB_LEVEL_OPTIONS.contains(n)
                && !NOT_IN_BATCH.contains(n) && !NOT_PARAMETERS.contains(n)).toList();
    }

    private static String oneOf(String what, String value, List<String> allowed) {
        String v = Objects.requireNonNull(value, what).toLowerCase(Locale.ROOT);
        if (!allowed.contains(v)) throw new IllegalArgumentException(what + " must be one of " + String.join(", ", allowed)
                + ", got '" + value + "'");
        return v;
    }
}
