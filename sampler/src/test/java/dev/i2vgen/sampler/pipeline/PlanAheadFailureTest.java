package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.MemoryExhaustedException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failures with plans built ahead ({@link PlansAhead}, on {@link ConcurrentJvmBackend}): the first real error is what
 * the caller gets, and every plan opened is closed, the ones built ahead and not yet taken included. The pipeline then
 * runs the next request normally.
 */
@org.junit.jupiter.api.extension.ExtendWith(PlanAheadSwitchedOn.class)
class PlanAheadFailureTest {
    private static GenerationRequest request() {
        return GenerationRequest.builder("a cat", RgbImage.black(48, 32)).height(32).width(48).numFrames(2).steps(2).seed(1L).build();
    }

    @Test
    void aFailingBuildAheadIsTheErrorTheCallerGetsAndTheOtherPlansAreClosed() {
        RuntimeException noMemory = new IllegalStateException("out of device memory for the decoder's buffers");
        try (ReferenceCase ref = ReferenceCase.bundled("tiny");
             ConcurrentJvmBackend backend = new ConcurrentJvmBackend(Long.MAX_VALUE / 8);
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            backend.failing = g -> g.name().startsWith("vae_decoder") && Thread.currentThread().getName().startsWith("plan-ahead-") ? noMemory : null;
            RuntimeException thrown = assertThrows(RuntimeException.class, () -> pipeline.generate(request(), PipelineListener.NONE));
            assertSame(noMemory, thrown, "the build's own error, as it was thrown");
            assertTrue(backend.compiles().stream().anyMatch(c -> c.graph().equals("denoise_step") && c.thread().startsWith("plan-ahead-")),
                    "the step plan was built ahead");
            assertEquals(backend.opened.get(), backend.closed.get(), "every plan opened is closed");

            backend.failing = g -> null;
            assertEquals(2, pipeline.generate(request()).frames().size(), "the next request runs");
            assertEquals(backend.opened.get(), backend.closed.get());
        }
    }

    /** Out of device memory ahead of its stage (the earlier stages' buffers still there): the stage builds it, as before. */
    @Test
    void aBuildAheadOutOfMemoryIsBuiltAgainByItsStage() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny");
             ConcurrentJvmBackend backend = new ConcurrentJvmBackend(Long.MAX_VALUE / 8);
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            backend.failing = g -> g.name().startsWith("vae_decoder") && Thread.currentThread().getName().startsWith("plan-ahead-")
                    ? MemoryExhaustedException.device(1L << 30, "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (test)") : null;
            assertEquals(2, pipeline.generate(request()).frames().size());
            String caller = Thread.currentThread().getName();
            assertTrue(backend.compiles().stream().anyMatch(c -> c.graph().startsWith("vae_decoder") && c.thread().equals(caller)),
                    "the decode stage built it: " + backend.compiles());
            assertEquals(backend.opened.get(), backend.closed.get());
        }
    }

    @Test
    void aFailingStageClosesThePlansBuiltAheadForLaterStages() {
        RuntimeException listenerFailure = new IllegalStateException("the listener's own failure");
        try (ReferenceCase ref = ReferenceCase.bundled("tiny");
             ConcurrentJvmBackend backend = new ConcurrentJvmBackend(Long.MAX_VALUE / 8);
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            CountDownLatch stepPlanBuilding = new CountDownLatch(1);
            backend.onCompile = g -> {
                if (g.name().equals("denoise_step")) stepPlanBuilding.countDown();
            };
            PipelineListener failsAtTheImage = new PipelineListener() {
                @Override
                public void stage(String name) {
                    if (!name.equals("encode image")) return;
                    Latches.await(stepPlanBuilding, 30, "the step plan was never built");   // being built ahead when the stage fails
                    throw listenerFailure;
                }
            };
            assertSame(listenerFailure, assertThrows(RuntimeException.class, () -> pipeline.generate(request(), failsAtTheImage)));
            assertTrue(backend.compiles().stream().anyMatch(c -> c.graph().equals("denoise_step")), "the step plan was opened");
            assertEquals(backend.opened.get(), backend.closed.get(), "and closed, with the others");
        }
    }

    @Test
    void aCancelledSvdRunClosesThePlansBuiltAhead() {
        try (ReferenceCase ref = ReferenceCase.bundled("svd-tiny");
             ConcurrentJvmBackend backend = new ConcurrentJvmBackend(Long.MAX_VALUE / 8);
             StableVideoDiffusionPipeline pipeline = StableVideoDiffusionPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            SvdGenerationRequest req = SvdGenerationRequest.builder(RgbImage.black(48, 32)).height(32).width(48)
                    .numFrames(2).steps(2).seed(1L).build();
            PipelineListener cancelsAtTheFirstStep = new PipelineListener() {
                int steps;

                @Override public void step(int index, int total, double timestep) { steps++; }

                @Override public boolean cancelled() { return steps == 1; }
            };
            GenerationCancelledException e = assertThrows(GenerationCancelledException.class, () -> pipeline.generate(req, cancelsAtTheFirstStep));
            assertEquals("cancelled after step 1 of 2", e.getMessage());
            assertTrue(backend.opened.get() >= 3, "image encoder, VAE encoder, step plan (and maybe the decoder's, built ahead)");
            assertEquals(backend.opened.get(), backend.closed.get(), "every plan opened is closed");
        }
    }

    @Test
    void aDecoderThatDoesNotFitWhatWasReleasedIsBuiltByItsStage() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny");
             ConcurrentJvmBackend backend = new ConcurrentJvmBackend(0);   // no room given back
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            assertEquals(2, pipeline.generate(request()).frames().size());
            String caller = Thread.currentThread().getName();
            assertTrue(backend.compiles().stream().anyMatch(c -> c.graph().equals("denoise_step") && c.thread().startsWith("plan-ahead-")));
            assertTrue(backend.compiles().stream().anyMatch(c -> c.graph().startsWith("vae_decoder") && c.thread().equals(caller)),
                    "the decoder's plan built by the decode stage: " + backend.compiles());
            assertTrue(pipeline.setupWork().stream().anyMatch(w -> w.what().contains("'decode' built by the stage itself, not ahead")));
            assertTrue(pipeline.setupWork().stream().anyMatch(w -> w.what().contains("'denoise' built ahead")));
        }
    }
}
