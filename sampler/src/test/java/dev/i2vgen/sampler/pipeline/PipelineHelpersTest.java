package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pipeline's host-side helpers against direct computations on random data. */
class PipelineHelpersTest {
    private static final RgbImage IMAGE = RgbImage.black(8, 8);

    @Test
    void requestChecksUseDiffusersMessages() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new GenerationRequest("p", null, IMAGE, 100, 64, 4, 3, 9, 16, 0, 1L, 1, 1, null, null));
        assertEquals("`height` and `width` have to be divisible by 8 but are 100 and 64.", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new GenerationRequest(null, null, IMAGE, 64, 64, 4, 3, 9, 16, 0, 1L, 1, 1, null, null));
        assertThrows(IllegalArgumentException.class, () -> new GenerationRequest("p", null, IMAGE, 64, 64, 0, 3, 9, 16, 0, 1L, 1, 1, null, null));
        assertThrows(IllegalArgumentException.class, () -> new GenerationRequest("p", null, IMAGE, 64, 64, 4, 3, 9, 16, 0, 1L, 0, 1, null, null));
        assertTrue(new GenerationRequest("p", null, IMAGE, 64, 64, 4, 3, 1.5, 16, 0, 1L, 1, 1, null, null).classifierFreeGuidance());
        assertTrue(!new GenerationRequest("p", null, IMAGE, 64, 64, 4, 3, 1.0, 16, 0, 1L, 1, 1, null, null).classifierFreeGuidance());
    }

    @Test
    void imageLatentsHoldTheLatentThenFramePositions() {
        Random r = new Random(3);
        int c = 4, f = 5, h = 3, w = 2;
        float[] z = new float[c * h * w];
        for (int i = 0; i < z.length; i++) z[i] = (float) r.nextGaussian();
        Tensor out = ImageLatentConditioning.build(Tensor.fromFloats(z, 1, c, h, w), f);
        assertEquals(List.of(1, c, f, h, w), java.util.Arrays.stream(out.shape()).boxed().toList());
        for (int ch = 0; ch < c; ch++)
            for (int k = 0; k < f; k++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        float expected = k == 0 ? z[(ch * h + y) * w + x] : (float) k / (f - 1);
                        assertEquals(expected, out.get(0, ch, k, y, x), 0f);
                    }
        // one frame: nothing appended
        assertEquals(1, ImageLatentConditioning.build(Tensor.fromFloats(z, 1, c, h, w), 1).dim(2));
    }

    @Test
    void framesToBatchRoundTripsAndMatchesPermute() {
        Random r = new Random(5);
        int b = 2, c = 3, f = 4, h = 2, w = 3;
        float[] v = new float[b * c * f * h * w];
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat();
        Tensor x = Tensor.fromFloats(v, b, c, f, h, w);
        float[] flat = HostTensors.framesToBatch(x);
        for (int bi = 0; bi < b; bi++)
            for (int k = 0; k < f; k++)
                for (int ch = 0; ch < c; ch++)
                    for (int i = 0; i < h * w; i++)
                        assertEquals(x.get(bi, ch, k, i / w, i % w), flat[(((bi * f + k) * c + ch) * h * w) + i], 0f);
        Tensor back = HostTensors.batchToFrames(flat, b, c, f, h, w);
        assertEquals(0.0, dev.i2vgen.tensor.TensorComparison.maxAbsError(back, x));
    }

    @Test
    void postprocessingClampsAndRoundsHalfToEven() {
        // values near .5 steps and outside [0, 1]: uint8 = rint(255·clamp(x/2 + 0.5)), rint rounds half to even
        float[] targets = {0.5f, 1.5f, 2.5f, 254.5f, -10f, 300f};
        float[] video = new float[3 * targets.length];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < targets.length; i++) video[c * targets.length + i] = (targets[i] / 255f - 0.5f) * 2f;
        Tensor t = Tensor.fromFloats(video, 1, 3, 1, 1, targets.length);
        RgbImage img = FramePostprocessor.toImages(t).get(0);
        for (int i = 0; i < targets.length; i++) {
            float y = Math.min(Math.max(video[i] * 0.5f + 0.5f, 0f), 1f) * 255f;
            assertEquals((int) Math.rint(y), img.get(i, 0, 0), "pixel " + i);
        }
        assertEquals(255, img.get(5, 0, 0));
        assertEquals(0, img.get(4, 0, 0));
    }

    @Test
    void frameMajorPostprocessingMatchesElementwiseDefinition() {
        int f = 3, h = 4, w = 5;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
        float[] v = new float[f * 3 * h * w];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * 0.8);   // some outside [-1, 1]
        Tensor frames = Tensor.fromFloats(v, f, 3, h, w);
        FramePostprocessor.Frames out = FramePostprocessor.fromFrameMajor(frames);
        assertEquals(f, out.images().size());
        assertEquals(java.util.List.of(f, h, w, 3), java.util.Arrays.stream(out.floats().shape()).boxed().toList());
        for (int k = 0; k < f; k++)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        float unit = Math.min(Math.max(frames.get(k, c, y, x) * 0.5f + 0.5f, 0f), 1f);
                        assertEquals(unit, out.floats().get(k, y, x, c), 0f);
                        assertEquals((int) Math.rint(unit * 255f), out.images().get(k).get(x, y, c), "frame " + k + " pixel " + x + "," + y);
                    }
        // NaN: kept in the float frames (torch.clamp keeps it), 0 in the 8-bit ones (numpy's uint8 cast)
        v[0] = Float.NaN;
        FramePostprocessor.Frames withNaN = FramePostprocessor.fromFrameMajor(Tensor.fromFloats(v, f, 3, h, w));
        assertTrue(Float.isNaN(withNaN.floats().get(0, 0, 0, 0)));
        assertEquals(0, withNaN.images().get(0).get(0, 0, 0));
        v[0] = frames.get(0, 0, 0, 0);
        // the [1, 3, F, H, W] entry point gives the same
        Tensor video = frames.permute(1, 0, 2, 3).contiguous().reshape(1, 3, f, h, w);
        assertEquals(0.0, dev.i2vgen.tensor.TensorComparison.maxAbsError(FramePostprocessor.toFloatFrames(video), out.floats()));
    }
}
