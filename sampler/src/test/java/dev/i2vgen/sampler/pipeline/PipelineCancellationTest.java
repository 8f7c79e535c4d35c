package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A listener stops a run through {@link PipelineListener#cancelled()}; the pipeline stays usable for the next request. */
class PipelineCancellationTest {
    /** Records what the run reported and asks to stop once {@code stopAfterSteps} says so. */
    private static final class Recorder implements PipelineListener {
        final List<String> stages = new ArrayList<>();
        int steps;
        private final IntPredicate stopAfterSteps;

        Recorder(IntPredicate stopAfterSteps) { this.stopAfterSteps = stopAfterSteps; }

        @Override public void stage(String name) { stages.add(name); }

        @Override public void step(int index, int total, double timestep) { steps++; }

        @Override public boolean cancelled() { return stopAfterSteps.test(steps); }
    }

    @Test
    void i2vgenStopsAfterTheStepWhereItWasCancelledAndRunsAgain() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny"); Backend backend = Backends.create("jvm");
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            GenerationRequest req = GenerationRequest.builder("a cat", RgbImage.black(48, 32)).height(32).width(48)
                    .numFrames(2).steps(3).seed(1L).build();
            Recorder cancelledAfterTwo = new Recorder(steps -> steps == 2);
            GenerationCancelledException e = assertThrows(GenerationCancelledException.class, () -> pipeline.generate(req, cancelledAfterTwo));
            assertEquals("cancelled after step 2 of 3", e.getMessage());
            assertEquals(2, cancelledAfterTwo.steps, "the third step never ran");
            assertEquals(List.of("encode prompt", "encode image", "denoise"), cancelledAfterTwo.stages);

            Recorder atOnce = new Recorder(steps -> true);
            e = assertThrows(GenerationCancelledException.class, () -> pipeline.generate(req, atOnce));
            assertEquals("cancelled before the 'encode prompt' stage", e.getMessage());

            GeneratedVideo whole = pipeline.generate(req, new Recorder(steps -> false));   // its plans were closed, not left half-run
            assertEquals(2, whole.frames().size());
            assertArrayEquals(whole.frames().get(0).toByteArray(), pipeline.generate(req).frames().get(0).toByteArray(), "same seed, same video");
        }
    }

    @Test
    void svdStopsAfterTheStepWhereItWasCancelledAndRunsAgain() {
        try (ReferenceCase ref = ReferenceCase.bundled("svd-tiny"); Backend backend = Backends.create("jvm");
             StableVideoDiffusionPipeline pipeline = StableVideoDiffusionPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            SvdGenerationRequest req = SvdGenerationRequest.builder(RgbImage.black(48, 32)).height(32).width(48)
                    .numFrames(2).steps(2).seed(1L).build();
            Recorder cancelledAfterOne = new Recorder(steps -> steps == 1);
            GenerationCancelledException e = assertThrows(GenerationCancelledException.class, () -> pipeline.generate(req, cancelledAfterOne));
            assertEquals("cancelled after step 1 of 2", e.getMessage());
            assertEquals(List.of("encode image", "denoise"), cancelledAfterOne.stages);
            assertEquals(2, pipeline.generate(req, PipelineListener.NONE).frames().size());
        }
    }
}
