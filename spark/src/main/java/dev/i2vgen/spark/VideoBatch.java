package dev.i2vgen.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Batch generation on Spark, the plain form: a {@code Dataset<Row>} of jobs (image, prompt, negative_prompt, seed and
 * optionally any of {@code i2vgen generate}'s options as columns) in, the same rows plus {@code output_path},
 * {@code status} ({@code succeeded} or {@code failed}), {@code error} and {@code seconds} out. Lazy, as any
 * transformation: the videos are made when the result is computed (collected, written, counted), one task per
 * partition, rows in order within it; repartition the jobs to spread them over the executors.
 *
 * <pre>{@code
 * Dataset<Row> jobs = spark.read().option("header", "true").csv("jobs.csv").repartition(64);
 * Dataset<Row> results = VideoBatch.generate(jobs, BatchSettings.builder("/shared/videos").model("/shared/i2vgen-xl").build());
 * results.write().parquet("/shared/results.parquet");
 * }</pre>
 */
public final class VideoBatch {
    private VideoBatch() {}

    /**
     * The jobs' rows with their outcome. A bad row fails alone, in its {@code status} and {@code error}.
     *
     * @throws IllegalArgumentException for columns that cannot be a job list (see {@link #outputSchema})
     */
    public static Dataset<Row> generate(Dataset<Row> jobs, BatchSettings settings) {
        StructType out = outputSchema(jobs.schema(), settings);
        return jobs.mapPartitions(new PartitionGeneration(settings, JobColumns.of(jobs.schema(), settings)), Encoders.row(out));
    }

    /**
     * The input columns followed by {@code output_path}, {@code status}, {@code error}, {@code seconds} (and the
     * settings' device column, when asked for).
     *
     * @throws IllegalArgumentException naming the column: one that sets a job-level option (model, device, dtype,
     *                                  output), two columns for one option, one named like an output column, or no
     *                                  image column without a default image
     */
    public static StructType outputSchema(StructType jobs, BatchSettings settings) {
        JobColumns.of(jobs, settings);
        StructType out = jobs.add("output_path", DataTypes.StringType, true)
                .add("status", DataTypes.StringType, false)
                .add("error", DataTypes.StringType, true)
                .add("seconds", DataTypes.DoubleType, false);
        return settings.deviceCol() != null ? out.add(settings.deviceCol(), DataTypes.StringType, true) : out;
    }
}
