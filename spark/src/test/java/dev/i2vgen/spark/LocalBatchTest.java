package dev.i2vgen.spark;

import dev.i2vgen.cli.I2VGenCommand;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batch generation on {@code local[2]} (two task threads in this JVM) with the built-in tiny demo model on the JVM
 * backend, at its demo sizes (48×32, 4 frames, 3 steps): the {@code i2vgen batch} command and the transformer.
 */
class LocalBatchTest {
    private static SparkSession spark;

    @BeforeAll
    static void startSpark() {
        spark = SparkSession.builder().master("local[2]").appName("LocalBatchTest")
                .config("spark.ui.enabled", "false").config("spark.log.level", "WARN").getOrCreate();
    }

    @AfterAll
    static void stopSpark() {
        if (spark != null) spark.stop();
    }

    record Result(int code, String out, String err) {}

    static Result i2vgen(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = I2VGenCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    /**
     * Two good rows, a row whose image is not an image and one with a bad parameter: every good row's video decodes,
     * each bad row carries its error (the parameter's in generate's own words), the job does not fail; a rerun finds
     * the finished videos and leaves them as they are.
     */
    @Test
    void batchMakesTheGoodRowsReportsTheBadOnesAndARerunSkipsFinishedRows(@TempDir Path tmp) throws Exception {
        BatchTestFiles.image(tmp.resolve("fox.png"), 10);
        BatchTestFiles.image(tmp.resolve("owl.png"), 200);
        Files.writeString(tmp.resolve("broken.png"), "not a PNG");
        Path jobs = Files.writeString(tmp.resolve("jobs.csv"), """
                image,prompt,negative_prompt,seed,steps
                fox.png,"A red fox, jumping",,1,
                owl.png,An owl,blurry,2,2
                broken.png,A broken image,,3,
                fox.png,Bad steps,,4,0
                """);
        Path out = tmp.resolve("videos");

        Result first = i2vgen("batch", "--input", jobs.toString(), "--output", out.toString(), "--master", "local[2]");
        assertEquals(1, first.code(), "some rows failed, the job did not: " + first.err());
        assertTrue(first.out().contains("(2 made now, 0 already there), 2 rows failed"), first.out());
        List<Row> results = readResults(out);
        assertEquals(List.of("image", "prompt", "negative_prompt", "seed", "steps", "output_path", "status", "error", "seconds"),
                List.of(results.getFirst().schema().fieldNames()));
        assertEquals(4, results.size());
        for (Row good : results.subList(0, 2)) {
            assertEquals("succeeded", good.getAs("status"), String.valueOf(good));
            assertNull(good.getAs("error"));
            Path video = Path.of(good.<String>getAs("output_path"));
            assertEquals(out, video.getParent());
            assertEquals(List.of("48x32", "48x32", "48x32", "48x32"), BatchTestFiles.decodedFrameSizes(video));
        }
        assertEquals("fox.png", results.get(0).getAs("image"));
        assertEquals("A red fox, jumping", results.get(0).getAs("prompt"));

        Row brokenImage = results.get(2), badSteps = results.get(3);
        assertEquals("failed", brokenImage.getAs("status"));
        assertNull(brokenImage.getAs("output_path"));
        assertTrue(brokenImage.<String>getAs("error").contains("broken.png"), brokenImage.<String>getAs("error"));
        assertEquals("failed", badSteps.getAs("status"));
        Result cli = i2vgen("generate", "--image", tmp.resolve("fox.png").toString(), "--prompt", "Bad steps", "--seed", "4",
                "--steps", "0", "--output", tmp.resolve("cli.mp4").toString());
        assertEquals(2, cli.code());
        assertEquals(cli.err().strip(), "error: " + badSteps.getAs("error"), "the row's error is generate's own message");

        BasicFileAttributes before = Files.readAttributes(Path.of(results.get(0).<String>getAs("output_path")), BasicFileAttributes.class);
        Result rerun = i2vgen("batch", "--input", jobs.toString(), "--output", out.toString());
        assertEquals(1, rerun.code(), rerun.err());
        assertTrue(rerun.out().contains("(0 made now, 2 already there), 2 rows failed"), rerun.out());
        List<Row> again = readResults(out);
        for (int i = 0; i < 2; i++) {
            assertEquals("succeeded", again.get(i).getAs("status"));
            assertEquals(results.get(i).<String>getAs("output_path"), again.get(i).getAs("output_path"));
        }
        BasicFileAttributes after = Files.readAttributes(Path.of(again.get(0).<String>getAs("output_path")), BasicFileAttributes.class);
        assertEquals(before.fileKey(), after.fileKey(), "the finished video is not written again");
        assertEquals(before.lastModifiedTime(), after.lastModifiedTime());
    }

    /** The transformer: other columns pass through, and the device column tells where each row ran. */
    @Test
    void transformerKeepsOtherColumnsAndTellsTheDevice(@TempDir Path tmp) throws Exception {
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("image", DataTypes.StringType)
                .add("prompt", DataTypes.StringType).add("seed", DataTypes.LongType).add("frames", DataTypes.IntegerType);
        Dataset<Row> jobs = spark.createDataFrame(List.of(
                RowFactory.create(7, BatchTestFiles.image(tmp.resolve("a.png"), 90).toString(), "A lake", 5L, 2)), schema);
        VideoGenerationTransformer t = new VideoGenerationTransformer().setOutputDir(tmp.resolve("out").toString())
                .setFormat("gif").setOption("steps", "2").setDeviceCol("device");
        StructType expected = t.transformSchema(schema);
        Dataset<Row> results = t.transform(jobs);
        assertEquals(expected, results.schema());
        Row row = results.collectAsList().getFirst();
        assertEquals("succeeded", row.getAs("status"), String.valueOf(row));
        assertEquals(7, row.<Integer>getAs("id"));
        assertTrue(row.<String>getAs("output_path").matches(".*/a-[0-9a-f]{24}\\.gif"), row.<String>getAs("output_path"));
        assertTrue(row.<String>getAs("device").matches("executor driver, GPU none, jvm backend, pipeline \\d+"),
                row.<String>getAs("device"));
    }

    /** Job lists and options that cannot work are refused before any row runs (exit code 2), naming the problem. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "image,prompt,seed,stpes|x.png,a,1,3|''|unknown column [stpes]",
            "image,prompt|x.png,a|''|has no 'seed' column and no --seed was given",
            "image,prompt,seed,device|x.png,a,1,cuda|''|option 'device' is set for the whole job",
            "prompt,seed|a,1|''|has no column 'image'",
            "image,prompt,seed|x.png,a,1|--steps 0|--steps must be between 1 and 1000",
            "image,prompt,seed|x.png,a,1|--save-intermediate x|is not available in batch generation",
            "image,prompt,seed|x.png,a,1|--stpes 3|did you mean --steps?"})
    void unusableJobListsAreRefusedBeforeAnyRowRuns(String header, String row, String options, String message,
                                                    @TempDir Path tmp) throws Exception {
        Path jobs = Files.writeString(tmp.resolve("jobs.csv"), header + "\n" + row + "\n");
        List<String> args = new ArrayList<>(List.of("batch", "--input", jobs.toString(), "--output", tmp.resolve("out").toString()));
        if (!options.isEmpty()) args.addAll(Arrays.asList(options.split(" ")));
        Result r = i2vgen(args.toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(message), r.err());
        assertFalse(Files.exists(tmp.resolve("out/results.csv")));
    }

    @Test
    void settingsRefuseWhatIsNotPerRowOrUnknown() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BatchSettings.builder("out").option("model", "x"));
        assertTrue(e.getMessage().contains("set for the whole job"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BatchSettings.builder("out").option("stepz", "3"));
        assertTrue(e.getMessage().contains("'stepz' is not an option of i2vgen generate"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new VideoGenerationTransformer().setDevice("tpu"));
        assertTrue(e.getMessage().contains("device must be one of auto, jvm, cuda, opencl"), e.getMessage());
    }

    private static List<Row> readResults(Path out) {
        return spark.read().option("header", "true").option("multiLine", "true").option("escape", "\"")
                .csv(out.resolve("results.csv").toString()).collectAsList();
    }
}
