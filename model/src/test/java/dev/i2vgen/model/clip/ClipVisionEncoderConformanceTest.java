package dev.i2vgen.model.clip;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static dev.i2vgen.model.clip.TestCheckpoints.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CLIP vision tower + projection vs the diffusers run's recorded tensors. */
class ClipVisionEncoderConformanceTest {
    static final double TOL = 1e-4;
    static Backend backend;

    @BeforeAll static void start() { backend = Backends.create("jvm"); }

    @AfterAll static void stop() { backend.close(); }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16"})
    void hiddenStatesAndImageEmbedsMatch(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name);
             SafetensorsFile w = TestCheckpoints.open(c, "image_encoder")) {
            ClipVisionConfig cfg = ClipVisionConfig.load(TestCheckpoints.config(c, "image_encoder"));
            ClipVisionEncoder enc = new ClipVisionEncoder(cfg, w);
            Tensor pixels = c.tensor("clip_pixel_values");
            Map<String, Tensor> out = enc.runWithHiddenStates(backend, pixels, DType.F32);
            for (int k = 0; k <= cfg.numHiddenLayers(); k++) {
                assertClose(name + " hidden_states." + k, out.get("hidden_states." + k), c.tensor("clip_vision.hidden_states." + k), TOL);
            }
            assertClose(name + " image_embeds", out.get(ClipVisionEncoder.OUTPUT_EMBEDS), c.tensor("clip_vision.image_embeds"), TOL);
            assertClose(name + " image_embeds (run)", enc.run(backend, pixels, DType.F32), c.tensor("clip_vision.image_embeds"), TOL);
        }
    }

    @Test
    void batchOfTwoImagesEncodesEachLikeAlone() {
        try (ReferenceCase c = ReferenceCase.bundled("tiny");
             SafetensorsFile w = TestCheckpoints.open(c, "image_encoder")) {
            ClipVisionEncoder enc = new ClipVisionEncoder(ClipVisionConfig.load(TestCheckpoints.config(c, "image_encoder")), w);
            Tensor one = c.tensor("clip_pixel_values");
            // second image: the first one mirrored horizontally, so the two rows must differ
            int s = one.dim(3);
            Tensor two = Tensor.allocate(DType.F32, 2, 3, s, s);
            Tensor mirrored = Tensor.allocate(DType.F32, 1, 3, s, s);
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < s; y++)
                    for (int x = 0; x < s; x++) {
                        float v = one.get(0, ch, y, x), m = one.get(0, ch, y, s - 1 - x);
                        two.setFlat(((long) ch * s + y) * s + x, v);
                        two.setFlat((((long) 3 + ch) * s + y) * s + x, m);
                        mirrored.setFlat(((long) ch * s + y) * s + x, m);
                    }
            Tensor both = enc.run(backend, two, DType.F32);
            assertClose("row 0", both.slice(0, 0, 1).contiguous(), c.tensor("clip_vision.image_embeds"), TOL);
            Tensor alone = enc.run(backend, mirrored, DType.F32);
            assertClose("row 1", both.slice(0, 1, 2).contiguous(), alone, TOL);
            assertTrue(dev.i2vgen.tensor.TensorComparison.relativeError(alone, c.tensor("clip_vision.image_embeds")) > 1e-3,
                    "mirrored image should give another embedding");
        }
    }

    @Test
    void wrongImageSizeIsRejectedWithTheExpectedShape() {
        try (ReferenceCase c = ReferenceCase.bundled("tiny");
             SafetensorsFile w = TestCheckpoints.open(c, "image_encoder")) {
            ClipVisionEncoder enc = new ClipVisionEncoder(ClipVisionConfig.load(TestCheckpoints.config(c, "image_encoder")), w);
            var g = new dev.i2vgen.graph.TaskGraph("wrong", DType.F32);
            var px = g.input("pixel_values", DType.F32, 1, 3, 30, 30);
            var e = assertThrows(IllegalArgumentException.class, () -> enc.encode(g, px));
            assertTrue(e.getMessage().contains("[n, 3, 32, 32]"), e.getMessage());
        }
    }
}
