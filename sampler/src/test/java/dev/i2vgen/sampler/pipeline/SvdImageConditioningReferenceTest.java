package dev.i2vgen.sampler.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.checkpoint.FeatureExtractorConfig;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.image.SvdImagePreprocessing;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stable Video Diffusion's two image-conditioning inputs against diffusers' recorded runs
 * ({@code StableVideoDiffusionPipeline}, CPU float32): the CLIP pixel values and the noise-augmented VAE input.
 */
class SvdImageConditioningReferenceTest {
    /** diffusers resizes the CLIP input to 224×224 whatever the feature extractor says. */
    private static final int CLIP_SIZE = 224;

    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked"})
    void clipPixelValuesMatch(String name) throws IOException {
        try (ReferenceCase c = ReferenceCase.bundled(name)) {
            Tensor ref = c.tensor("clip_pixel_values");
            Tensor actual = clipPixelValues(c);
            assertArrayEquals(ref.shape(), actual.shape());
            // The CLIP path follows torch's float32 operation order, so in practice it is exact.
            assertExact("clip_pixel_values of " + name, actual.toFloatArray(), ref.toFloatArray());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked"})
    void noiseAugmentedVaeInputMatches(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name)) {
            int w = c.width(), h = c.height();
            float strength = noiseAugStrength(c);
            assertTrue(strength > 0, "case " + name + " has no noise_aug_strength");
            float[] noise = augmentationNoise(c);
            float[] pixels = SvdImagePreprocessing.vaePixels(ImageLoader.read(c.inputImage()), w, h).toFloatArray();
            float[] actual = new float[pixels.length];
            for (int i = 0; i < actual.length; i++) actual[i] = pixels[i] + strength * noise[i];

            Tensor ref = c.tensor("vae_encode.input");
            assertArrayEquals(new int[] {1, 3, h, w}, ref.shape());
            assertExact("vae_encode.input of " + name, actual, ref.toFloatArray());
        }
    }

    /** Undo the noise and the [−1,1] map to get diffusers' 8-bit Lanczos output back, and compare bit for bit. */
    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked"})
    void lanczosResizeIsPillowExact(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name)) {
            int w = c.width(), h = c.height(), plane = w * h;
            float strength = noiseAugStrength(c);
            float[] noise = augmentationNoise(c);
            float[] input = c.tensor("vae_encode.input").toFloatArray();
            RgbImage resized = SvdImagePreprocessing.vaeImage(ImageLoader.read(c.inputImage()), w, h);
            int mismatches = 0;
            for (int ch = 0; ch < 3; ch++) {
                for (int p = 0; p < plane; p++) {
                    int i = ch * plane + p;
                    long recovered = Math.round(((input[i] - strength * noise[i]) + 1) * 127.5);
                    if (recovered != resized.get(p % w, p / w, ch)) mismatches++;
                }
            }
            assertEquals(0, mismatches, "8-bit Lanczos pixels of " + name + " that differ from diffusers'");
        }
    }

    /** The case's noise_aug_strength, NaN when it has none. */
    private static float noiseAugStrength(ReferenceCase c) {
        return (float) c.json().path("noise_aug_strength").asDouble(Double.NaN);
    }

    /** The VAE input's augmentation noise [1, 3, H, W]: the generator's first draw (the CLIP path draws nothing). */
    private static float[] augmentationNoise(ReferenceCase c) {
        return new TorchGenerator(c.seed()).randnTensor(1, 3, c.height(), c.width()).toFloatArray();
    }

    /** Within 1e-6 relative and, as the reference's float32 order is followed, equal element for element. */
    private static void assertExact(String what, float[] actual, float[] expected) {
        Errors e = Errors.of(actual, expected);
        assertTrue(e.relative() <= 1e-6, what + ": " + e);
        assertEquals(0, e.differing(), what + ": " + e);
    }

    /** {@code (clipPixels − mean)/std} per channel in float32, as the feature extractor normalises. */
    private static Tensor clipPixelValues(ReferenceCase c) throws IOException {
        Path file = c.checkpoint().resolve("feature_extractor/preprocessor_config.json");
        FeatureExtractorConfig config = FeatureExtractorConfig.from(new ObjectMapper().readTree(file.toFile()), file);
        float[] mean = config.imageMean(), std = config.imageStd();
        float[] v = SvdImagePreprocessing.clipPixels(ImageLoader.read(c.inputImage()), CLIP_SIZE).toFloatArray();
        int plane = CLIP_SIZE * CLIP_SIZE;
        for (int i = 0; i < v.length; i++) v[i] = (v[i] - mean[i / plane]) / std[i / plane];
        return Tensor.fromFloats(v, 1, 3, CLIP_SIZE, CLIP_SIZE);
    }

    /** Max abs error, the same relative to the reference's largest magnitude, and the count of unequal elements. */
    private record Errors(double maxAbs, double relative, int differing) {
        static Errors of(float[] actual, float[] expected) {
            assertEquals(expected.length, actual.length, "element count");
            double maxAbs = 0, scale = 0;
            int differing = 0;
            for (int i = 0; i < actual.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs((double) actual[i] - expected[i]));
                scale = Math.max(scale, Math.abs(expected[i]));
                if (Float.compare(actual[i], expected[i]) != 0) differing++;
            }
            return new Errors(maxAbs, scale == 0 ? maxAbs : maxAbs / scale, differing);
        }
    }
}
