package dev.i2vgen.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The Spark side of {@code i2vgen batch}: reads the job list, checks its columns, spreads the rows over tasks (one
 * per row by default), collects the outcomes in the input's order and writes {@code results.csv}.
 */
final class BatchJob {
    /** Columns the job adds for itself (the input's order; which rows ran), left out of results.csv. */
    private static final String ROW_INDEX = "__i2vgen_row", DEVICE = "__i2vgen_device";
    /** Failed rows listed on the console; the results file lists them all. */
    private static final int FAILURES_SHOWN = 10;

    private final BatchSettings settings;
    private final Path input;
    private final boolean csv;
    private final String master;
    private final Integer partitions;
    private final CommandLine commandLine;

    BatchJob(BatchSettings settings, Path input, boolean csv, String master, Integer partitions, CommandLine commandLine) {
        this.settings = settings.toBuilder().deviceCol(DEVICE).build();
        this.input = input;
        this.csv = csv;
        this.master = master;
        this.partitions = partitions;
        this.commandLine = commandLine;
    }

    int run() throws IOException {
        boolean ownSession = SparkSession.getDefaultSession().isEmpty();
        SparkSession spark = session();
        try {
            Dataset<Row> jobs = read(spark);
            checkColumns(jobs);
            long rows = jobs.count();
            int tasks = partitions != null ? partitions : (int) Math.clamp(rows, 1, Integer.MAX_VALUE);
            commandLine.getErr().printf("i2vgen batch: %d rows in %d tasks on %s%n", rows, tasks, spark.sparkContext().master());
            Dataset<Row> indexed = jobs.withColumn(ROW_INDEX, functions.monotonically_increasing_id()).repartition(tasks);
            List<Row> results = new ArrayList<>(VideoBatch.generate(indexed, settings).collectAsList());
            int index = indexed.schema().fieldIndex(ROW_INDEX);
            results.sort(Comparator.comparingLong(r -> r.getLong(index)));
            return report(jobs.columns(), results);
        } finally {
            if (ownSession) spark.stop();
        }
    }

    /**
     * The session: spark-submit's (its settings arrive as spark.* system properties), or a new one on --master (default
     * local[*]); Spark's own logging at WARN unless configured.
     */
    private SparkSession session() {
        SparkConf given = new SparkConf();
        SparkSession.Builder builder = SparkSession.builder().appName("i2vgen batch");
        if (master != null) builder.master(master);
        else if (!given.contains("spark.master")) builder.master("local[*]");
        if (!given.contains("spark.log.level")) builder.config("spark.log.level", "WARN");
        // the task threads build deep graphs: the stack size every i2vgen JVM gets (the module openings come from Spark)
        if (!given.contains("spark.executor.extraJavaOptions")) builder.config("spark.executor.extraJavaOptions", "-Xss8m");
        return builder.getOrCreate();
    }

    /** The job list, without the outcome columns of an earlier results file (so that one can be run again). */
    private Dataset<Row> read(SparkSession spark) {
        Dataset<Row> jobs = csv
                ? spark.read().option("header", "true").option("multiLine", "true").option("escape", "\"").csv(input.toString())
                : spark.read().parquet(input.toString());
        List<String> earlier = Arrays.stream(jobs.columns()).filter(JobColumns.OUTPUT_COLUMNS::contains).toList();
        if (!earlier.isEmpty()) {
            commandLine.getErr().println("i2vgen batch: leaving out the columns " + earlier + " (an earlier run's results)");
            jobs = jobs.drop(earlier.toArray(String[]::new));
        }
        return jobs;
    }

    /** Refuses, before any row runs, a column that sets nothing (a typing mistake) and a job list without seeds. */
    private void checkColumns(Dataset<Row> jobs) {
        JobColumns columns;
        try {
            columns = JobColumns.of(jobs.schema(), settings);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(commandLine, input + ": " + e.getMessage());
        }
        List<String> unknown = columns.passedThrough();
        if (!unknown.isEmpty()) throw new CommandLine.ParameterException(commandLine, input + ": unknown column"
                + (unknown.size() > 1 ? "s " : " ") + unknown + "; a column is the image, prompt, negative_prompt or seed,"
                + " or an option of i2vgen generate named like its long option: " + String.join(", ", BatchSettings.rowOptionNames()));
        if (!columns.sets("seed") && !settings.options().containsKey("seed")) throw new CommandLine.ParameterException(
                commandLine, input + " has no 'seed' column and no --seed was given: a batch video is named from its"
                        + " inputs, so that a rerun skips it, and needs a fixed seed");
    }

    /** Writes results.csv and tells the counts and the first failures; exit code 1 when a row failed. */
    private int report(String[] inputColumns, List<Row> results) throws IOException {
        Path file = Path.of(settings.outputDir(), "results.csv");
        List<String> header = new ArrayList<>(List.of(inputColumns));
        header.addAll(JobColumns.OUTPUT_COLUMNS);
        List<List<Object>> lines = new ArrayList<>();
        int n = inputColumns.length, failed = 0, found = 0;
        PrintWriter err = commandLine.getErr();
        for (int r = 0; r < results.size(); r++) {
            Row row = results.get(r);
            List<Object> line = new ArrayList<>();
            for (int i = 0; i < n; i++) line.add(row.get(i));
            // the generated table: input columns, the row index, then output_path, status, error, seconds, device
            for (int i = 0; i < JobColumns.OUTPUT_COLUMNS.size(); i++) line.add(row.get(n + 1 + i));
            lines.add(line);
            boolean succeeded = RowGeneration.Outcome.SUCCEEDED.equals(row.get(n + 2));
            if (!succeeded && ++failed <= FAILURES_SHOWN) err.println("row " + (r + 1) + ": error: " + row.get(n + 3));
            if (succeeded && row.isNullAt(n + 5)) found++;
        }
        if (failed > FAILURES_SHOWN) err.println("... and " + (failed - FAILURES_SHOWN) + " more failed rows");
        ResultsCsv.write(file, header, lines);
        commandLine.getOut().printf("%d videos in %s (%d made now, %d already there), %d %s failed; results: %s%n",
                results.size() - failed, settings.outputDir(), results.size() - failed - found, found, failed,
                failed == 1 ? "row" : "rows", file);
        commandLine.getOut().flush();
        return failed > 0 ? 1 : 0;
    }
}
