package dev.i2vgen.io.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsSource;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The conformance checkpoints open, validate and resolve their weights as diffusers would. */
class BundledCheckpointTest {
    private static final Map<String, String> CLASSES = Map.of(
            "unet", "I2VGenXLUNet", "vae", "AutoencoderKL", "text_encoder", "CLIPTextModel",
            "image_encoder", "CLIPVisionModelWithProjection", "tokenizer", "CLIPTokenizer",
            "scheduler", "DDIMScheduler", "feature_extractor", "CLIPImageProcessor");

    private static Path checkpoint(String name) { return ReferenceCase.bundled(name).checkpoint(); }

    @Test
    void tinyOpensAndValidates() throws IOException {
        Path dir = checkpoint("tiny");
        CheckpointFolder ckpt = CheckpointFolder.open(dir);
        assertEquals(List.of(), ckpt.problems());
        ckpt.validate();
        assertEquals("I2VGenXLPipeline", ckpt.pipelineClass());
        assertEquals(CLASSES.keySet(), ckpt.components().keySet());
        CLASSES.forEach((name, cls) -> assertEquals(cls, ckpt.component(name).className(), name));
        assertEquals("diffusers", ckpt.component("unet").library());
        assertEquals("transformers", ckpt.component("text_encoder").library());

        assertEquals(dir.resolve("scheduler/scheduler_config.json"), ckpt.component("scheduler").configFile());
        assertEquals(dir.resolve("tokenizer/tokenizer_config.json"), ckpt.component("tokenizer").configFile());
        assertEquals(dir.resolve("feature_extractor/preprocessor_config.json"), ckpt.component("feature_extractor").configFile());
        assertEquals(dir.resolve("unet/config.json"), ckpt.component("unet").configFile());
        assertEquals("DDIMScheduler", ckpt.component("scheduler").config().get("_class_name").asText());
        assertEquals(77, ckpt.component("tokenizer").config().get("model_max_length").asInt());

        // Plain files; an fp16 request falls back to them because this folder has no fp16 variant.
        assertEquals(dir.resolve("unet/diffusion_pytorch_model.safetensors"), ckpt.component("unet").weightsFile(Variant.NONE));
        assertEquals(dir.resolve("unet/diffusion_pytorch_model.safetensors"), ckpt.component("unet").weightsFile(Variant.FP16));
        assertEquals(dir.resolve("text_encoder/model.safetensors"), ckpt.component("text_encoder").weightsFile(Variant.FP16));
        try (SafetensorsSource w = ckpt.component("unet").weights()) {
            assertEquals(DType.F32, w.get("conv_in.weight").dtype());
            assertEquals(4, w.get("conv_in.weight").rank());
        }
        assertThrows(CheckpointException.class, () -> ckpt.component("scheduler").weightsFile(Variant.NONE));
    }

    @Test
    void tinyFp16OpensAndValidates() {
        Path dir = checkpoint("tiny-fp16");
        CheckpointFolder ckpt = CheckpointFolder.open(dir).validate();
        CLASSES.forEach((name, cls) -> assertEquals(cls, ckpt.component(name).className(), name));
        for (String model : List.of("unet", "vae")) {
            Path expected = dir.resolve(model + "/diffusion_pytorch_model.fp16.safetensors");
            assertEquals(expected, ckpt.component(model).weightsFile(Variant.FP16));
            // No plain file: with no variant requested the only variant present is used (diffusers would fail).
            assertEquals(expected, ckpt.component(model).weightsFile(Variant.NONE));
        }
        assertEquals(dir.resolve("image_encoder/model.fp16.safetensors"), ckpt.component("image_encoder").weightsFile(Variant.FP16));
        try (SafetensorsSource w = ckpt.component("vae").weights(Variant.FP16)) {
            String any = w.names().iterator().next();
            assertEquals(DType.F16, w.get(any).dtype(), any);
        }
    }

    @Test
    void featureExtractorConfigMatchesTheJson() throws IOException {
        for (String name : List.of("tiny", "tiny-fp16")) {
            CheckpointFolder ckpt = CheckpointFolder.open(checkpoint(name));
            JsonNode raw = new ObjectMapper().readTree(ckpt.component("feature_extractor").configFile().toFile());
            FeatureExtractorConfig c = ckpt.featureExtractorConfig();
            assertEquals(raw.at("/crop_size/height").asInt(), c.cropHeight());
            assertEquals(raw.at("/crop_size/width").asInt(), c.cropWidth());
            assertEquals(raw.at("/size/shortest_edge").asInt(), c.shortestEdge());
            for (int i = 0; i < 3; i++) {
                assertEquals((float) raw.get("image_mean").get(i).asDouble(), c.imageMean()[i]);
                assertEquals((float) raw.get("image_std").get(i).asDouble(), c.imageStd()[i]);
            }
            assertEquals(raw.get("rescale_factor").asDouble(), c.rescaleFactor());
            assertEquals(raw.get("resample").asInt(), c.resample());
        }
    }
}
