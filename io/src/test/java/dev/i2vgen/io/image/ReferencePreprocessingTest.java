package dev.i2vgen.io.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pipeline's image preprocessing and frame post-processing against the diffusers reference runs. */
class ReferencePreprocessingTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void clipInputIsBitExact(String name) throws IOException {
        try (ReferenceCase c = ReferenceCase.bundled(name)) {
            JsonNode crop = new ObjectMapper()
                    .readTree(c.checkpoint().resolve("feature_extractor/preprocessor_config.json").toFile())
                    .path("crop_size");
            RgbImage input = ImageLoader.read(c.inputImage());
            RgbImage clip = PipelineImagePreprocessing.clipImage(input, c.width(), crop.path("width").asInt(), crop.path("height").asInt());

            Tensor ref = c.tensor("clip_input_uint8"); // H×W×3 as F32
            assertArrayEquals(new int[] {clip.height(), clip.width(), 3}, ref.shape());
            float[] expected = ref.toFloatArray();
            byte[] actual = clip.toByteArray();
            for (int i = 0; i < expected.length; i++) {
                assertEquals((int) expected[i], actual[i] & 0xFF, "clip_input_uint8 element " + i + " of case " + name);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void vaeInputMatches(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name)) {
            Tensor actual = PipelineImagePreprocessing.vaePixels(ImageLoader.read(c.inputImage()), c.width(), c.height());
            Tensor ref = c.tensor("vae_input_image");
            assertArrayEquals(ref.shape(), actual.shape());
            assertTrue(maxAbs(ref.toFloatArray(), actual.toFloatArray()) <= 1e-6, "vae_input_image of case " + name);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void decodedFramesRoundLikeDiffusers(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name)) {
            Tensor video = c.tensor("decode.video");            // [1,3,F,H,W] in [-1,1]
            Tensor frames = c.tensor("frames_uint8");           // [1,F,H,W,3]
            int f = video.dim(2);
            for (int i = 0; i < f; i++) {
                Tensor chw = video.slice(2, i, i + 1).reshape(3, video.dim(3), video.dim(4));
                RgbImage frame = ImageTensors.fromSignedUnitRange(chw);
                float[] expected = frames.slice(1, i, i + 1).toFloatArray();
                byte[] actual = frame.toByteArray();
                int[] got = new int[actual.length];
                int[] want = new int[actual.length];
                for (int k = 0; k < actual.length; k++) {
                    got[k] = actual[k] & 0xFF;
                    want[k] = (int) expected[k];
                }
                assertArrayEquals(want, got, "frame " + i + " of case " + name);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void clipUnitRangeMatchesNormalisedReference(String name) {
        // clip_pixel_values = (x/255 − mean)/std: undo the affine map and compare the [0,1] tensor.
        float[] mean = {0.48145466f, 0.4578275f, 0.40821073f};
        float[] std = {0.26862954f, 0.26130258f, 0.27577711f};
        try (ReferenceCase c = ReferenceCase.bundled(name)) {
            Tensor hwc = c.tensor("clip_input_uint8");
            int h = hwc.dim(0), w = hwc.dim(1);
            byte[] rgb = new byte[h * w * 3];
            float[] v = hwc.toFloatArray();
            for (int i = 0; i < v.length; i++) rgb[i] = (byte) (int) v[i];
            float[] unit = ImageTensors.toUnitRange(RgbImage.of(w, h, rgb)).toFloatArray();
            float[] ref = c.tensor("clip_pixel_values").toFloatArray();
            float[] normalised = new float[unit.length];
            for (int i = 0; i < unit.length; i++) {
                int ch = i / (h * w);
                normalised[i] = (unit[i] - mean[ch]) / std[ch];
            }
            assertTrue(maxAbs(ref, normalised) <= 1e-6, "clip_pixel_values, max abs " + maxAbs(ref, normalised));
        }
    }

    private static double maxAbs(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " vs " + b.length + ": " + Arrays.toString(new int[] {a.length, b.length}));
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
