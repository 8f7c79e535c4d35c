package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The pipelines tell the listener each final frame as the VAE decodes it ({@link PipelineListener#frame}), for a video encoder. */
class DecodedFrameStreamTest {
    /** Frames as told, with the stage each was told in. */
    private static final class FrameRecorder implements PipelineListener {
        final List<RgbImage> frames = new ArrayList<>();
        final List<String> told = new ArrayList<>();
        String stage = "";

        @Override public void stage(String name) { stage = name; }

        @Override
        public void frame(int index, int total, RgbImage frame) {
            told.add(index + "/" + total + " in " + stage);
            frames.add(frame);
        }
    }

    @Test
    void i2vgenTellsEachFrameOfTheVideoInOrderDuringDecoding() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny"); Backend backend = Backends.create("jvm");
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            GenerationRequest req = GenerationRequest.builder("a cat", RgbImage.black(48, 32)).height(32).width(48)
                    .numFrames(3).steps(2).seed(1L).decodeChunkSize(2).build();
            FrameRecorder recorder = new FrameRecorder();
            GeneratedVideo video = pipeline.generate(req, recorder);
            assertEquals(List.of("0/3 in decode", "1/3 in decode", "2/3 in decode"), recorder.told);
            for (int i = 0; i < 3; i++) assertSame(video.frames().get(i), recorder.frames.get(i), "frame " + i + " is the video's own");
            // the same video without a listener; ±1 per byte, since the JVM backend's first runs may round differently
            // while its kernels are still being JIT-compiled (bit-identical once warm)
            List<RgbImage> again = pipeline.generate(req).frames();
            assertEquals(video.frames().size(), again.size());
            for (int i = 0; i < again.size(); i++) {
                byte[] a = video.frames().get(i).toByteArray(), b = again.get(i).toByteArray();
                for (int j = 0; j < a.length; j++)
                    assertTrue(Math.abs((a[j] & 0xFF) - (b[j] & 0xFF)) <= 1, "frame " + i + " byte " + j + " without a listener");
            }
        }
    }

    @Test
    void svdTellsEachFrameOfTheVideoInOrderDuringDecoding() {
        try (ReferenceCase ref = ReferenceCase.bundled("svd-tiny"); Backend backend = Backends.create("jvm");
             StableVideoDiffusionPipeline pipeline = StableVideoDiffusionPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            SvdGenerationRequest req = SvdGenerationRequest.builder(RgbImage.black(48, 32)).height(32).width(48)
                    .numFrames(2).steps(2).seed(1L).decodeChunkSize(1).build();
            FrameRecorder recorder = new FrameRecorder();
            GeneratedVideo video = pipeline.generate(req, recorder);
            assertEquals(List.of("0/2 in decode", "1/2 in decode"), recorder.told);
            assertEquals(video.frames(), recorder.frames);
        }
    }

    @Test
    void chunkByChunkPostProcessingGivesTheWholeVideosValues() {
        int f = 5, h = 6, w = 10;
        float[] v = new float[f * 3 * h * w];
        Random r = new Random(7);
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 0.8);   // some beyond [−1, 1]: clamped
        Tensor frames = Tensor.fromFloats(v, f, 3, h, w);
        FramePostprocessor.Frames whole = FramePostprocessor.fromFrameMajor(frames);
        List<Integer> told = new ArrayList<>();
        FramePostprocessor.Streamed streamed = new FramePostprocessor.Streamed((index, total, frame) -> told.add(index), rows -> {});
        streamed.ready(frames, 0, 2);
        streamed.ready(frames, 2, 3);
        assertThrows(IllegalStateException.class, () -> streamed.ready(frames, 4, 5), "frame 3 was skipped");
        FramePostprocessor.Frames chunked = streamed.frames(frames);   // frames 3 and 4 were never handed over: converted now
        assertEquals(whole.images(), chunked.images());
        assertEquals(0.0, dev.i2vgen.tensor.TensorComparison.maxAbsError(whole.floats(), chunked.floats()));
        assertEquals(List.of(0, 1, 2, 3, 4), told);
    }
}
