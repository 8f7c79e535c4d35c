package dev.i2vgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code i2vgen bench --small --device jvm}: every stage runs on the tiny demo model and lands in the table and the JSON. */
class BenchCommandTest {
    private static final List<String> TIMED = List.of("text_encode", "image_encode", "vae_encode", "unet_step_cfg",
            "vae_decode4_chunk1", "vae_decode4_chunk8", "pipeline_2_steps");

    @Test
    void smallBenchMeasuresEveryStageAndWritesJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("out/bench.json");
        CommandLineTest.Result r = CommandLineTest.run("bench", "--small", "--device", "jvm", "--dtype", "fp32",
                "--warmup", "0", "--repeats", "1", "--pipeline-steps", "2", "--json", json.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        for (String stage : TIMED) assertTrue(r.out().contains(stage), "table lacks " + stage + ":\n" + r.out());

        JsonNode root = new ObjectMapper().readTree(Files.readString(json));
        assertEquals("jvm", root.get("device").asText());
        assertEquals(2, root.get("pipeline_steps").asInt());
        JsonNode stages = root.get("stages");
        for (String stage : TIMED) {
            JsonNode s = stages.get(stage);
            assertTrue(s != null, "JSON lacks " + stage + ": " + stages);
            assertEquals("s", s.get("unit").asText());
            assertTrue(s.get("value").asDouble() > 0, stage + " took no time: " + s);
            // the demo model has no diffusers figure to compare with, so no ratio and no target
            assertTrue(s.get("diffusers").isNull() && s.get("speedup_vs_diffusers").isNull() && s.get("target").isNull(), s.toString());
        }
        // the JVM backend cannot report device memory: the row says so instead of inventing a number
        assertTrue(stages.get("peak_memory_pipeline").get("value").isNull());
        try (var files = Files.list(json.getParent())) {
            assertEquals(List.of(json), files.toList(), "temporary file left behind");
        }
    }

    @Test
    void rejectsBadPipelineSteps() {
        CommandLineTest.Result r = CommandLineTest.run("bench", "--small", "--device", "jvm", "--pipeline-steps", "0");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--pipeline-steps"), r.err());
        assertFalse(r.out().contains("unet_step_cfg"));
    }
}
