package dev.i2vgen.sampler.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One bad value in one config file of a copy of a bundled tiny checkpoint: loading the pipeline fails with one line
 * "FILE: 'key' ..." naming that file and key, before any weights are used (never "/ by zero" or a silent default).
 */
class CheckpointConfigErrorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path tmp;

    private Path copyOf(String bundled) throws IOException {
        Path src;
        try (ReferenceCase ref = ReferenceCase.bundled(bundled)) { src = ref.checkpoint().toAbsolutePath(); }
        Path dir = tmp.resolve(bundled);
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : files.toList()) {
                Path target = dir.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else if (p.toString().endsWith(".json") || p.toString().endsWith(".txt")) Files.copy(p, target);
                else Files.createSymbolicLink(target, p);   // weights are only read, never edited
            }
        }
        return dir;
    }

    private static void set(Path json, String key, String value) throws IOException {
        ObjectNode root = (ObjectNode) JSON.readTree(json.toFile());
        root.set(key, JSON.readTree(value));
        JSON.writeValue(json.toFile(), root);
    }

    private static String loadError(Path dir) {
        try (Backend backend = Backends.create("jvm")) {
            var e = assertThrows(RuntimeException.class, () -> VideoPipelines.fromPretrained(dir, backend, DType.F32).close());
            return e.getMessage();
        }
    }

    @ParameterizedTest(name = "{0}/{1}: {2} = {3}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            tiny     | unet/config.json                          | norm_num_groups        | 0      | 'norm_num_groups' must be a positive integer, got 0
            tiny     | unet/config.json                          | attention_head_dim     | 0      | 'attention_head_dim' must be a positive integer, got 0
            tiny     | unet/config.json                          | layers_per_block       | "two"  | 'layers_per_block' must be an integer, got "two"
            tiny     | unet/config.json                          | in_channels            | 4.5    | 'in_channels' must be an integer, got 4.5
            tiny     | vae/config.json                           | norm_num_groups        | 0      | 'norm_num_groups' must be a positive integer, got 0
            tiny     | vae/config.json                           | norm_num_groups        | 5      | 'block_out_channels' [0] = 16 is not divisible by the 5 GroupNorm groups (norm_num_groups)
            tiny     | vae/config.json                           | scaling_factor         | 0      | 'scaling_factor' must be a positive number, got 0.0
            tiny     | text_encoder/config.json                  | num_attention_heads    | 0      | 'num_attention_heads' must be a positive integer, got 0
            tiny     | text_encoder/config.json                  | hidden_size            | 15     | 'hidden_size' = 15 is not divisible by num_attention_heads 2
            tiny     | image_encoder/config.json                 | patch_size             | 0      | 'patch_size' must be a positive integer, got 0
            tiny     | feature_extractor/preprocessor_config.json| resample               | 9      | 'resample' must be a PIL filter id 0..5, got 9
            tiny     | feature_extractor/preprocessor_config.json| image_std              | [1,0,1]| 'image_std' must hold positive numbers (they divide), got [1.0, 0.0, 1.0]
            tiny     | tokenizer/tokenizer_config.json           | model_max_length       | 77.5   | 'model_max_length' must be an integer, got 77.5
            svd-tiny | vae/config.json                           | sample_size            | -1     | 'sample_size' must be a positive integer, got -1
            svd-tiny | unet/config.json                          | num_frames             | 0      | 'num_frames' must be a positive integer, got 0
            svd-tiny | unet/config.json                          | num_attention_heads    | 0      | 'num_attention_heads' must be a positive integer, got 0
            svd-tiny | unet/config.json                          | block_out_channels     | [32,48]| 'block_out_channels' [1] = 48 is not divisible by the 32 GroupNorm groups
            svd-tiny | image_encoder/config.json                 | num_attention_heads    | 0      | 'num_attention_heads' must be a positive integer, got 0
            """)
    void aBadValueNamesItsFileAndKey(String checkpoint, String file, String key, String value, String expected) throws IOException {
        Path dir = copyOf(checkpoint);
        set(dir.resolve(file), key, value);
        String message = loadError(dir);
        assertTrue(message.startsWith(dir.resolve(file) + ": ") && message.contains(expected) && !message.contains("\n"),
                "expected one line '" + dir.resolve(file) + ": ..." + expected + "', got: " + message);
    }

    @Test
    void aBadSchedulerValueNamesTheSchedulerFileWhenTheRunStarts() throws IOException {
        // The stored scheduler is parsed per run (a run may swap in another class), before any model work.
        Path dir = copyOf("tiny");
        Path config = dir.resolve("scheduler/scheduler_config.json");
        set(config, "num_train_timesteps", "0");
        try (Backend backend = Backends.create("jvm"); VideoPipeline pipeline = VideoPipelines.fromPretrained(dir, backend, DType.F32)) {
            GenerationRequest req = GenerationRequest.builder("a cat", RgbImage.black(48, 32)).height(32).width(48).numFrames(2).steps(1).build();
            var e = assertThrows(IllegalArgumentException.class, () -> pipeline.generate(req, PipelineListener.NONE));
            assertTrue(e.getMessage().startsWith(config + ": ") && e.getMessage().contains("num_train_timesteps"), e.getMessage());
        }
    }

    @Test
    void aVocabularyLargerThanTheTextEncodersTableNamesVocabJson() throws IOException {
        Path dir = copyOf("tiny");
        Path vocab = dir.resolve("tokenizer/vocab.json");
        Files.writeString(vocab, Files.readString(vocab).replace("\"cat</w>\": 2368", "\"cat</w>\": 60000"));
        String message = loadError(dir);
        assertTrue(message.startsWith(vocab + ": token 'cat</w>' has id 60000, but the text encoder's vocab_size is 49408"), message);
    }

    @Test
    void aTokenizerLengthBeyondTheTextEncodersPositionsNamesTheTokenizerConfig() throws IOException {
        Path dir = copyOf("tiny");
        Path config = dir.resolve("tokenizer/tokenizer_config.json");
        set(config, "model_max_length", "100");
        String message = loadError(dir);
        assertTrue(message.startsWith(config + ": 'model_max_length' is 100, but the text encoder's max_position_embeddings is 77"), message);
    }

    @Test
    void aCheckpointOfTheOtherPipelineIsRefusedByName() throws IOException {
        Path dir = copyOf("tiny");
        Path index = dir.resolve("model_index.json");
        set(index, "_class_name", "\"StableVideoDiffusionPipeline\"");
        String message = loadError(dir);
        assertTrue(message.contains(index + ": component 'vae' is AutoencoderKL; StableVideoDiffusionPipeline needs AutoencoderKLTemporalDecoder"), message);

        Path svd = copyOf("svd-tiny");
        try (Backend backend = Backends.create("jvm")) {
            var e = assertThrows(RuntimeException.class, () -> I2VGenXLPipeline.fromPretrained(svd, backend, DType.F32).close());
            assertTrue(e.getMessage().contains(svd.resolve("model_index.json")
                    + ": '_class_name' is 'StableVideoDiffusionPipeline', but this is the I2VGenXLPipeline loader"), e.getMessage());
        }
    }
}
