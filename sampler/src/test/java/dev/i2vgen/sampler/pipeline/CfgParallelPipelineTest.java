package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CFG-parallel on two JVM backends (the whole orchestration: the split graphs, the exchange through the host, both
 * devices stepping) against the one-backend pipeline, fp32, guidance on: I2VGen-XL with its DDIM scheduler, with DDIM's
 * η-noise (drawn once for both devices), with Euler (an input scaling in the model graphs) and with DPM-Solver++ (its
 * history on both devices); SVD with its Euler scheduler and per-frame guidance. The final latents and frames must agree
 * within 1e-5 (relative), every intermediate the listener sees within 1e-4 (the conformance tests' stage tolerance);
 * the largest difference is printed. Seen: bit-identical once the JIT has compiled the kernels; in a JVM's first runs
 * the Vector API kernels run in other JIT tiers, which round differently, and two runs on ONE backend differ as much
 * (up to ~8e-6 in SVD's last model output, ~6e-7 in its frames). Without guidance there is nothing to split: the
 * two-backend pipeline denoises on the first backend and gives the one-backend video.
 */
class CfgParallelPipelineTest {
    static final double TOLERANCE = 1e-5, INTERMEDIATE_TOLERANCE = 1e-4;

    @ParameterizedTest
    @CsvSource(nullValues = "-", value = {"-,0", "-,0.5", "EulerDiscreteScheduler,0", "DPMSolverMultistepScheduler,0"})
    void i2vgenOnTwoBackendsEqualsOneBackend(String scheduler, double eta) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) {
            GenerationRequest req = GenerationRequest.builder(ref.prompt(), ImageLoader.read(ref.inputImage()))
                    .negativePrompt(ref.negativePrompt()).height(ref.height()).width(ref.width()).numFrames(ref.numFrames())
                    .steps(ref.steps()).guidance(ref.guidance()).fps(ref.fps()).eta(eta).seed(ref.seed())
                    .decodeChunkSize(ref.decodeChunkSize()).scheduler(scheduler == null ? null : SchedulerSpec.parse(scheduler)).build();
            // the loop without the listener's reads once, with the checkpoint's scheduler; the others test the split graphs
            compare("I2VGen-XL " + (scheduler == null ? "DDIM" : scheduler) + " eta " + eta,
                    devices -> I2VGenXLPipeline.fromPretrained(ref.checkpoint(), devices, DType.F32), req, scheduler == null && eta == 0);
        }
    }

    /** I4VGen: NI-VSDS on the first backend, then the regeneration (a loop that starts mid-schedule) split. */
    @Test
    void i4vgenRegenerationOnTwoBackendsEqualsOneBackend() throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) {
            GenerationRequest req = GenerationRequest.builder(ref.prompt(), ImageLoader.read(ref.inputImage()))
                    .negativePrompt(ref.negativePrompt()).height(ref.height()).width(ref.width()).numFrames(ref.numFrames())
                    .steps(4).guidance(ref.guidance()).fps(ref.fps()).seed(ref.seed()).i4vgen(I4VGenOptions.defaults()).build();
            compare("I2VGen-XL I4VGen", devices -> I2VGenXLPipeline.fromPretrained(ref.checkpoint(), devices, DType.F32), req, false);
        }
    }

    @Test
    void svdOnTwoBackendsEqualsOneBackend() throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled("svd-tiny")) {
            SvdGenerationRequest req = SvdGenerationRequest.builder(ImageLoader.read(ref.inputImage())).height(ref.height())
                    .width(ref.width()).numFrames(ref.numFrames()).steps(ref.steps()).seed(ref.seed()).build();
            assertTrue(req.classifierFreeGuidance(), "the case must run with guidance");
            compare("SVD", devices -> StableVideoDiffusionPipeline.fromPretrained(ref.checkpoint(), devices, DType.F32), req, true);
        }
    }

    @Test
    void withoutGuidanceTheFirstBackendDenoisesAlone() throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) {
            GenerationRequest req = GenerationRequest.builder(ref.prompt(), ImageLoader.read(ref.inputImage()))
                    .height(ref.height()).width(ref.width()).numFrames(ref.numFrames()).steps(2).guidance(1.0)
                    .seed(ref.seed()).build();
            compare("I2VGen-XL without guidance", devices -> I2VGenXLPipeline.fromPretrained(ref.checkpoint(), devices, DType.F32),
                    req, true);
        }
    }

    @Test
    void refusesDeviceListsItCannotRun() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny"); Backend a = Backends.create("jvm"); Backend b = Backends.create("jvm");
             Backend c = Backends.create("jvm")) {
            var three = assertThrows(IllegalArgumentException.class, () -> I2VGenXLPipeline.fromPretrained(ref.checkpoint(), List.of(a, b, c), DType.F32));
            assertTrue(three.getMessage().contains("one backend, or two for CFG-parallel"), three.getMessage());
            var twice = assertThrows(IllegalArgumentException.class, () -> VideoPipelines.fromPretrained(ref.checkpoint(), List.of(a, a), DType.F32));
            assertTrue(twice.getMessage().contains("the same backend twice"), twice.getMessage());
        }
    }

    /**
     * Runs {@code req} on one backend and on two, with the listener's tensors, and if {@code quietRun} once more on two
     * without them (the loop that never reads in between); compares every tensor both runs emitted and the frames.
     */
    private static void compare(String what, Function<List<Backend>, VideoPipeline> open, VideoRequest req, boolean quietRun) {
        try (Backend a = Backends.create("jvm"); Backend b = Backends.create("jvm")) {
            Recorder one = new Recorder(), two = new Recorder();
            GeneratedVideo single, parallel, quiet;
            try (VideoPipeline p = open.apply(List.of(a))) {
                single = p.generate(req, one);
            }
            try (VideoPipeline p = open.apply(List.of(a, b))) {
                parallel = p.generate(req, two);
                quiet = quietRun ? p.generate(req, PipelineListener.NONE) : parallel;
            }
            assertEquals(one.tensors.keySet(), two.tensors.keySet(), what + ": the same intermediates");
            assertTrue(one.tensors.keySet().stream().anyMatch(k -> k.startsWith("unet.")), what + ": the denoising loop's tensors");
            List<String> report = new ArrayList<>();
            double worst = 0;
            String worstName = "-";
            for (var e : one.tensors.entrySet()) {
                double err = TensorComparison.relativeError(two.tensors.get(e.getKey()), e.getValue());
                if (err > worst) {
                    worst = err;
                    worstName = e.getKey();
                }
                boolean result = e.getKey().equals("decode.latents") || e.getKey().equals("frames_float");
                if (err > (result ? TOLERANCE : INTERMEDIATE_TOLERANCE)) report.add(e.getKey() + " " + err);
            }
            double frames = TensorComparison.relativeError(parallel.framesFloat(), single.framesFloat());
            double quietFrames = TensorComparison.relativeError(quiet.framesFloat(), single.framesFloat());
            System.out.printf("%s: two backends vs one: largest relative difference %.3g (%s) over %d intermediates, frames %.3g"
                    + " (listener)%s%n", what, worst, worstName, one.tensors.size(), frames,
                    quietRun ? String.format(" / %.3g (no listener)", quietFrames) : "");
            assertTrue(one.tensors.containsKey("decode.latents"), what + ": the final latents are compared");
            assertTrue(report.isEmpty(), what + ": tensors differ beyond their tolerance: " + report);
            assertTrue(frames <= TOLERANCE && quietFrames <= TOLERANCE, what + ": frames differ: " + frames + " / " + quietFrames);
        }
    }

    /** Every intermediate tensor of a run, by reference name. */
    static final class Recorder implements PipelineListener {
        final Map<String, Tensor> tensors = new LinkedHashMap<>();

        @Override public boolean wantsTensors() { return true; }

        @Override public void tensor(String name, Tensor value) { tensors.put(name, value); }
    }
}
