package dev.i2vgen.io.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.safetensors.SafetensorsSource;
import dev.i2vgen.io.safetensors.SafetensorsWriter;
import dev.i2vgen.io.safetensors.ShardedSafetensors;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Which weights file a component folder resolves to, for every naming scheme diffusers knows. */
class WeightFilesTest {
    @TempDir
    Path dir;

    private final Random rng = new Random(77);

    private Path weights(String name) {
        float[] v = new float[6];
        for (int i = 0; i < v.length; i++) v[i] = rng.nextFloat() - 0.5f;
        Path p = dir.resolve(name);
        SafetensorsWriter.write(p, Map.of("w", Tensor.fromFloats(v, 2, 3)), Map.of());
        return p;
    }

    private Path index(String name, String shard) throws IOException {
        Path p = dir.resolve(name);
        new ObjectMapper().writeValue(p.toFile(), Map.of("weight_map", Map.of("w", shard)));
        return p;
    }

    private Path resolve(Variant v) { return WeightFiles.resolve(dir, "diffusers", v); }

    @Test
    void plainAndVariantBothPresent() {
        Path plain = weights("diffusion_pytorch_model.safetensors");
        Path fp16 = weights("diffusion_pytorch_model.fp16.safetensors");
        assertEquals(plain, resolve(Variant.NONE));
        assertEquals(fp16, resolve(Variant.FP16));
        // A variant this folder lacks falls back to the plain file (diffusers' per-component behaviour).
        assertEquals(plain, resolve(Variant.of("ema")));
    }

    @Test
    void shardIndexesArePreferredToSingleFiles() throws IOException {
        weights("diffusion_pytorch_model.safetensors");
        weights("diffusion_pytorch_model-00001-of-00001.safetensors");
        Path plainIndex = index("diffusion_pytorch_model.safetensors.index.json", "diffusion_pytorch_model-00001-of-00001.safetensors");
        assertEquals(plainIndex, resolve(Variant.NONE));

        weights("diffusion_pytorch_model-00001-of-00001.fp16.safetensors");
        Path legacy = index("diffusion_pytorch_model.fp16.safetensors.index.json", "diffusion_pytorch_model-00001-of-00001.fp16.safetensors");
        assertEquals(legacy, resolve(Variant.FP16));
        Path modern = index("diffusion_pytorch_model.safetensors.index.fp16.json", "diffusion_pytorch_model-00001-of-00001.fp16.safetensors");
        assertEquals(modern, resolve(Variant.FP16), "the current diffusers name wins over the legacy one");

        ComponentFolder unet = new ComponentFolder("unet", "diffusers", "I2VGenXLUNet", dir);
        try (SafetensorsSource s = unet.weights(Variant.FP16)) {
            assertInstanceOf(ShardedSafetensors.class, s);
            assertEquals(2, s.get("w").rank());
        }
    }

    @Test
    void onlyVariantPresentIsUsedWhenNoneRequested() {
        Path fp16 = weights("diffusion_pytorch_model.fp16.safetensors");
        assertEquals(fp16, resolve(Variant.NONE));
    }

    @Test
    void severalVariantsAndNoPlainFileIsAmbiguous() {
        weights("diffusion_pytorch_model.fp16.safetensors");
        weights("diffusion_pytorch_model.ema.safetensors");
        var e = assertThrows(CheckpointException.class, () -> resolve(Variant.NONE));
        assertTrue(e.getMessage().contains("[ema, fp16]") && e.getMessage().contains(dir.toString()), e.getMessage());
        assertEquals(dir.resolve("diffusion_pytorch_model.ema.safetensors"), resolve(Variant.of("ema")));
    }

    @Test
    void transformersModelsUseModelSafetensors() {
        Path plain = weights("model.safetensors");
        weights("diffusion_pytorch_model.safetensors"); // must not be picked for a transformers model
        assertEquals(plain, WeightFiles.resolve(dir, "transformers", Variant.FP16));
    }

    @Test
    void nothingFoundListsWhatWasExpected() throws IOException {
        Files.writeString(dir.resolve("diffusion_pytorch_model.bin"), "pickle");
        var e = assertThrows(CheckpointException.class, () -> resolve(Variant.FP16));
        String m = e.getMessage();
        assertTrue(m.contains(dir.toString()), m);
        assertTrue(m.contains("diffusion_pytorch_model.fp16.safetensors") && m.contains("diffusion_pytorch_model.safetensors")
                && m.contains("diffusion_pytorch_model.safetensors.index.fp16.json"), m);
        assertTrue(m.contains(".bin"), "explains that pickles are not loaded: " + m);
    }

    @Test
    void variantTagsAreChecked() {
        assertTrue(Variant.of(null).isNone());
        assertTrue(Variant.of(" ").isNone());
        assertEquals("fp16", Variant.of("fp16").tag());
        assertThrows(IllegalArgumentException.class, () -> Variant.of("../x"));
    }
}
