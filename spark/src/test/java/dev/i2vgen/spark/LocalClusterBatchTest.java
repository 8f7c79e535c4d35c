package dev.i2vgen.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batch generation on {@code local-cluster[1,2,1024]}: a standalone master and one worker in this JVM, and one
 * executor JVM with two task slots, given two GPUs by a discovery script. The GPUs are fake (addresses "0" and "1"
 * with no device behind them), so the rows run with {@code device=jvm}: the JVM backend, one pipeline per GPU address
 * all the same, which is what is checked here: each task sees its own GPU address in {@code TaskContext.resources()},
 * and the executor creates one pipeline per address and reuses it across tasks.
 */
class LocalClusterBatchTest {
    private static final Pattern DEVICE = Pattern.compile("executor (\\S+), GPU (\\S+), jvm backend, pipeline (\\d+)");

    @TempDir
    static Path sparkHome;
    private static SparkSession spark;
    private static final Map<String, String> savedProperties = new HashMap<>();

    @BeforeAll
    static void startCluster() throws IOException {
        Path script = sparkHome.resolve("gpu-discovery.sh");
        Files.writeString(script, "#!/bin/sh\necho '{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\"]}'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> directories = linkClassPathAsSparkHome();
        // The worker launches executors from spark.test.home (instead of $SPARK_HOME) when spark.testing is set.
        setProperty("spark.testing", "true");
        setProperty("spark.test.home", sparkHome.toString());
        spark = SparkSession.builder().master("local-cluster[1,2,1024]").appName("LocalClusterBatchTest")
                .config("spark.ui.enabled", "false").config("spark.log.level", "WARN")
                .config("spark.executor.extraClassPath", String.join(File.pathSeparator, directories))
                .config("spark.executor.extraJavaOptions", "-Xss8m")
                .config("spark.worker.resource.gpu.amount", "2")
                .config("spark.worker.resource.gpu.discoveryScript", script.toString())
                .config("spark.executor.resource.gpu.amount", "2")
                .config("spark.task.resource.gpu.amount", "1")
                .getOrCreate();
    }

    @AfterAll
    static void stopCluster() throws IOException {
        if (spark != null) spark.stop();
        savedProperties.forEach((key, value) -> {
            if (value == null) System.clearProperty(key); else System.setProperty(key, value);
        });
        try (Stream<Path> links = Files.list(sparkHome.resolve("jars"))) {
            for (Path link : links.toList()) Files.delete(link);   // the links, not the jars they point to
        }
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void eachTaskRunsOnItsOwnGpuAddressAndEachAddressHasOnePipeline(@TempDir Path tmp) throws Exception {
        StructType schema = new StructType().add("image", DataTypes.StringType).add("prompt", DataTypes.StringType)
                .add("seed", DataTypes.LongType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) rows.add(RowFactory.create(BatchTestFiles.image(tmp.resolve("in" + i + ".png"), 40 * i).toString(), "row " + i, (long) i));
        Dataset<Row> jobs = spark.createDataFrame(rows, schema).repartition(6);
        List<Row> results = new VideoGenerationTransformer().setOutputDir(tmp.resolve("out").toString())
                .setDevice("jvm").setDeviceCol("device").transform(jobs).collectAsList();

        assertEquals(6, results.size());
        Map<String, Set<String>> pipelinesByExecutorAndAddress = new HashMap<>();
        Set<String> addresses = new HashSet<>();
        for (Row r : results) {
            assertEquals("succeeded", r.getAs("status"), r + "\n" + executorLogs());
            assertTrue(Files.isRegularFile(Path.of(r.<String>getAs("output_path"))));
            Matcher m = DEVICE.matcher(r.<String>getAs("device"));
            assertTrue(m.matches(), r.<String>getAs("device"));
            assertNotEquals("driver", m.group(1), "the rows ran in the executor JVM");
            addresses.add(m.group(2));
            pipelinesByExecutorAndAddress.computeIfAbsent(m.group(1) + "/" + m.group(2), k -> new HashSet<>()).add(m.group(3));
        }
        assertEquals(Set.of("0", "1"), addresses, "the two task slots got the two GPU addresses");
        pipelinesByExecutorAndAddress.forEach((key, pipelines) ->
                assertEquals(1, pipelines.size(), "one pipeline for executor/address " + key + ", got " + pipelines));
        Set<String> all = new HashSet<>();
        pipelinesByExecutorAndAddress.values().forEach(all::addAll);
        assertEquals(pipelinesByExecutorAndAddress.size(), all.size(), "each address has a pipeline of its own");
    }

    /**
     * A Spark home for the worker: {@code jars/} links every jar on this test's class path (Spark's and ours), the
     * class folders of the build go to {@code spark.executor.extraClassPath}, and the folder the launcher looks for
     * to learn the Scala version exists. Returns the class folders.
     */
    private static List<String> linkClassPathAsSparkHome() throws IOException {
        Path jars = Files.createDirectories(sparkHome.resolve("jars"));
        Files.createDirectories(sparkHome.resolve("launcher/target/scala-2.13"));
        List<String> directories = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry).toAbsolutePath();
            if (Files.isDirectory(p)) {
                directories.add(p.toString());
            } else if (p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p)) {
                Path link = jars.resolve(p.getFileName());
                if (!Files.exists(link)) Files.createSymbolicLink(link, p);
            }
        }
        return directories;
    }

    private static void setProperty(String key, String value) {
        savedProperties.put(key, System.getProperty(key));
        System.setProperty(key, value);
    }

    /** The executors' stderr (the worker writes it under the Spark home's work/), to explain a failure. */
    private static String executorLogs() {
        try (Stream<Path> files = Files.walk(sparkHome.resolve("work"))) {
            StringBuilder logs = new StringBuilder();
            for (Path f : files.filter(p -> p.getFileName().toString().equals("stderr")).toList()) {
                logs.append("--- ").append(f).append('\n').append(Files.readString(f));
            }
            return logs.toString();
        } catch (IOException e) {
            return "(no executor logs: " + e + ")";
        }
    }
}
