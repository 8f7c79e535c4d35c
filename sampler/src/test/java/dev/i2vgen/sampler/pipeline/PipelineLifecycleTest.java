package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsSource;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A pipeline from a checkpoint folder owns its weight mappings and releases them on close. */
class PipelineLifecycleTest {
    @Test
    void closeReleasesTheWeightMappingsItOpened() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny"); Backend backend = Backends.create("jvm")) {
            I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32);
            List<SafetensorsSource> weights = pipeline.ownedWeights();
            assertEquals(4, weights.size(), "text encoder, image encoder, VAE and UNet weights");
            GenerationRequest req = new GenerationRequest("p", null, RgbImage.black(48, 32), 32, 48, 2, 1, 9, 16, 0, 1L, 1, 1, null, null);
            assertClosesAndReleases(pipeline, weights, req);
        }
    }

    @Test
    void svdCloseReleasesTheWeightMappingsItOpened() {
        try (ReferenceCase ref = ReferenceCase.bundled("svd-tiny"); Backend backend = Backends.create("jvm")) {
            StableVideoDiffusionPipeline pipeline = StableVideoDiffusionPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32);
            List<SafetensorsSource> weights = pipeline.ownedWeights();
            assertEquals(3, weights.size(), "image encoder, VAE and UNet weights");
            SvdGenerationRequest req = SvdGenerationRequest.builder(RgbImage.black(48, 32)).height(32).width(48)
                    .numFrames(2).steps(1).seed(1L).build();
            assertClosesAndReleases(pipeline, weights, req);
        }
    }

    /**
     * A checkpoint folder already validated, on a backend still starting: the backends are asked for once, after the
     * weights are mapped; a start that fails is thrown as it was and leaves no mapping open.
     */
    @Test
    void backendsAreAskedForOnceAfterTheWeightsAreMapped() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny"); Backend backend = Backends.create("jvm")) {
            CheckpointFolder checked = CheckpointFolder.open(ref.checkpoint()).validate();
            java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
            try (VideoPipeline pipeline = VideoPipelines.fromPretrained(checked, () -> {
                asked.incrementAndGet();
                return List.of(backend);
            }, DType.F32)) {
                assertEquals(1, asked.get());
                assertEquals(4, ((I2VGenXLPipeline) pipeline).ownedWeights().size());
                GenerationRequest req = new GenerationRequest("p", null, RgbImage.black(48, 32), 32, 48, 2, 1, 9, 16, 0, 1L, 1, 1, null, null);
                assertEquals(2, pipeline.generate(req, PipelineListener.NONE).frames().size(), "it runs on the backend it was given");
            }
            IllegalStateException failed = new IllegalStateException("backend 'cuda' is not available: simulated");
            assertSame(failed, assertThrows(IllegalStateException.class,
                    () -> VideoPipelines.fromPretrained(checked, () -> { throw failed; }, DType.F32)));
        }
    }

    /** Weights readable while open, unmapped after close; generate() then fails; a second close() is harmless. */
    private static void assertClosesAndReleases(VideoPipeline pipeline, List<SafetensorsSource> weights, VideoRequest req) {
        String name = weights.get(0).names().iterator().next();
        weights.get(0).get(name).getFlat(0);   // readable while the pipeline is open

        pipeline.close();
        for (SafetensorsSource w : weights) {
            String any = w.names().iterator().next();
            assertThrows(IllegalStateException.class, () -> w.get(any).getFlat(0), () -> w.description() + " still mapped");
        }
        var e = assertThrows(IllegalStateException.class, () -> pipeline.generate(req, PipelineListener.NONE));
        assertEquals(true, e.getMessage().contains("after close()"), e.getMessage());
        pipeline.close();   // idempotent
    }
}
