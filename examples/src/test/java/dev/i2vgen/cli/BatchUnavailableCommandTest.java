package dev.i2vgen.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code i2vgen batch} from the CLI's own jar (no spark module, no Spark on the class path): says how to run it. */
class BatchUnavailableCommandTest {
    @Test
    void batchWithoutTheSparkModuleSaysHowToRunIt() {
        CommandLineTest.Result r = CommandLineTest.run("batch", "--input", "jobs.csv", "--output", "out", "--steps", "3");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("error: i2vgen batch runs on Apache Spark, which is not on this class path"), r.err());
        assertTrue(r.err().contains("./i2vgen batch") && r.err().contains("spark-submit"), r.err());
    }

    @Test
    void helpListsBatch() {
        CommandLineTest.Result r = CommandLineTest.run("--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("batch"), r.out());
    }
}
