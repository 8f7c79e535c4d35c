package dev.i2vgen.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Batch generation in the shape of a Spark ML transformer (without the spark-mllib dependency): parameters through
 * setters, {@link #transform} adds {@code output_path}, {@code status}, {@code error} and {@code seconds} to a job
 * list, {@link #transformSchema} tells the result's columns without running anything. The same as
 * {@link VideoBatch#generate} with {@link BatchSettings}.
 *
 * <pre>{@code
 * Dataset<Row> results = new VideoGenerationTransformer()
 *         .setModel("/shared/i2vgen-xl").setOutputDir("/shared/videos").setDtype("fp16")
 *         .setOption("steps", "25").setOption("negative-prompt", "blurry, static")
 *         .transform(jobs);
 * }</pre>
 */
public final class VideoGenerationTransformer implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private String model;
    private String outputDir;
    private String device = "auto";
    private String dtype = "fp32";
    private String format = "mp4";
    private final Map<String, String> options = new LinkedHashMap<>();
    private String imageBase;
    private String imageCol = "image", promptCol = "prompt", negativePromptCol = "negative_prompt", seedCol = "seed";
    private String deviceCol;

    public VideoGenerationTransformer() {
        this("videoGeneration_" + UUID.randomUUID().toString().substring(0, 12));
    }

    public VideoGenerationTransformer(String uid) {
        this.uid = uid;
    }

    /** This transformer's id, as Spark ML's {@code Identifiable.uid}. */
    public String uid() { return uid; }

    /** The jobs with their outcome (lazy: the videos are made when the result is computed). */
    public Dataset<Row> transform(Dataset<?> jobs) {
        return VideoBatch.generate(jobs.toDF(), settings());
    }

    /** The columns {@link #transform} gives for these input columns; refuses columns that cannot be a job list. */
    public StructType transformSchema(StructType schema) {
        return VideoBatch.outputSchema(schema, settings());
    }

    /** These parameters as settings (for {@link VideoBatch#generate}). */
    public BatchSettings settings() {
        if (outputDir == null) throw new IllegalStateException("the output folder is not set (setOutputDir)");
        return BatchSettings.builder(outputDir).model(model).device(device).dtype(dtype).format(format).options(options)
                .imageBase(imageBase).imageCol(imageCol).promptCol(promptCol).negativePromptCol(negativePromptCol)
                .seedCol(seedCol).deviceCol(deviceCol).build();
    }

    /** The diffusers checkpoint folder, on every executor (default: the built-in tiny demo model). */
    public VideoGenerationTransformer setModel(String value) { model = value; return this; }

    /** Where the videos go, on every executor (a shared file system). Required. */
    public VideoGenerationTransformer setOutputDir(String value) { outputDir = value; return this; }

    /** auto (default: CUDA on a task's GPU, else the JVM backend), jvm, cuda or opencl. */
    public VideoGenerationTransformer setDevice(String value) { device = check(b -> b.device(value), value); return this; }

    /** fp32 (default), fp16 or bf16. */
    public VideoGenerationTransformer setDtype(String value) { dtype = value; return this; }

    /** mp4 (default), gif or png. */
    public VideoGenerationTransformer setFormat(String value) { format = check(b -> b.format(value), value); return this; }

    /** The default of one of {@code i2vgen generate}'s options (long name without "--") for every row. */
    public VideoGenerationTransformer setOption(String name, String value) {
        check(b -> b.option(name, value), value);
        options.put(name, value);
        return this;
    }

    /** The folder relative image paths are read from (default: none, paths are taken as they are). */
    public VideoGenerationTransformer setImageBase(String value) { imageBase = value; return this; }

    public VideoGenerationTransformer setImageCol(String value) { imageCol = value; return this; }

    public VideoGenerationTransformer setPromptCol(String value) { promptCol = value; return this; }

    public VideoGenerationTransformer setNegativePromptCol(String value) { negativePromptCol = value; return this; }

    public VideoGenerationTransformer setSeedCol(String value) { seedCol = value; return this; }

    /** Adds this output column: the executor, GPU address, backend and pipeline that made each row (default: none). */
    public VideoGenerationTransformer setDeviceCol(String value) { deviceCol = value; return this; }

    public String getModel() { return model; }

    public String getOutputDir() { return outputDir; }

    public String getDevice() { return device; }

    public String getDtype() { return dtype; }

    public String getFormat() { return format; }

    public Map<String, String> getOptions() { return Map.copyOf(options); }

    /** Checks a value the way the settings' builder does, at the setter, so that a bad one is refused where it is set. */
    private static String check(java.util.function.Consumer<BatchSettings.Builder> setter, String value) {
        setter.accept(BatchSettings.builder("."));
        return value.toLowerCase(java.util.Locale.ROOT);
    }
}
