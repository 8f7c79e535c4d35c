package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Plans built ahead ({@link PlansAhead}) change when plans are built, nothing else: on a backend that compiles
 * beside running plans (the JVM backend, {@link ConcurrentJvmBackend}), the {@code tiny} I2VGen-XL and {@code svd-tiny}
 * cases compile structurally identical graphs (every task, shape and constant compared) with
 * {@code -Di2vgen.pipeline.planAhead=false} and with it on, the later stages' plans on threads of their own, and give
 * the same frames and intermediates. Every plan opened is closed. The values are compared within the JVM backend's
 * own run-to-run jitter, which is not zero: its Vector API kernels round differently in different JIT tiers, and a
 * kernel deoptimised while another thread compiles runs in another tier for a while (seen here: two runs of one
 * pipeline 3e-7 apart in one SVD step, up to ~8e-6 in a late step, as CfgParallelPipelineTest notes); most runs give
 * every tensor bit for bit equal (the count is printed).
 */
class PlanAheadPipelineTest {
    /** The JVM backend's run-to-run jitter bounds (relative): CfgParallelPipelineTest's, for results and intermediates. */
    static final double JITTER = CfgParallelPipelineTest.TOLERANCE, INTERMEDIATE_JITTER = CfgParallelPipelineTest.INTERMEDIATE_TOLERANCE;

    /** Every intermediate under its name, as the listener saw it. */
    private static final class Recording implements PipelineListener {
        final Map<String, Tensor> tensors = new LinkedHashMap<>();

        @Override public boolean wantsTensors() { return true; }

        @Override public void tensor(String name, Tensor value) { tensors.put(name, value.contiguous()); }
    }

    private record Run(GeneratedVideo video, Map<String, Tensor> tensors, List<ConcurrentJvmBackend.Compile> compiles) {}

    @Test
    void i2vgenGivesTheSameVideoWithPlansBuiltAhead() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny");
             ConcurrentJvmBackend backend = new ConcurrentJvmBackend(Long.MAX_VALUE / 8);   // room for every plan ahead
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            GenerationRequest req = GenerationRequest.builder(ref.prompt(), image(ref)).negativePrompt(ref.negativePrompt())
                    .height(ref.height()).width(ref.width()).numFrames(ref.numFrames()).steps(ref.steps()).guidance(ref.guidance())
                    .fps(ref.fps()).seed(ref.seed()).decodeChunkSize(1).build();
            compare(backend, req.numFrames(), pipelineRun(backend, l -> pipeline.generate(req, l)),
                    Set.of("denoise_step", "clip_vision_encoder", "vae_decoder"), Set.of("clip_text_encoder", "vae_encoder"));
        }
    }

    @Test
    void svdGivesTheSameVideoWithPlansBuiltAhead() {
        try (ReferenceCase ref = ReferenceCase.bundled("svd-tiny");
             ConcurrentJvmBackend backend = new ConcurrentJvmBackend(Long.MAX_VALUE / 8);
             StableVideoDiffusionPipeline pipeline = StableVideoDiffusionPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            SvdGenerationRequest req = SvdGenerationRequest.builder(image(ref)).height(ref.height()).width(ref.width())
                    .numFrames(ref.numFrames()).steps(ref.steps()).seed(ref.seed()).decodeChunkSize(2).build();
            compare(backend, ref.numFrames(), pipelineRun(backend, l -> pipeline.generate(req, l)),
                    Set.of("svd_denoise_step", "vae_temporal_decoder"), Set.of("clip_vision_encoder", "vae_encoder"));
        }
    }

    private static RgbImage image(ReferenceCase ref) { return ImageLoader.read(ref.inputImage()); }

    private interface Generation {
        GeneratedVideo run(PipelineListener listener);
    }

    /** One recorded generation with plans built ahead or not. */
    private static java.util.function.Function<Boolean, Run> pipelineRun(ConcurrentJvmBackend backend, Generation generation) {
        return ahead -> {
            String before = System.getProperty("i2vgen.pipeline.planAhead");
            System.setProperty("i2vgen.pipeline.planAhead", Boolean.toString(ahead));
            try {
                backend.clearCompiles();
                Recording recording = new Recording();
                GeneratedVideo video = generation.run(recording);
                return new Run(video, recording.tensors, backend.compiles());
            } finally {
                if (before == null) System.clearProperty("i2vgen.pipeline.planAhead");
                else System.setProperty("i2vgen.pipeline.planAhead", before);
            }
        };
    }

    /**
     * @param aheadGraphs graphs (by name, a decoder's without its chunk shape) compiled on plan-ahead threads with it on
     * @param callerGraphs graphs compiled on the generating thread either way
     */
    private static void compare(ConcurrentJvmBackend backend, int frames, java.util.function.Function<Boolean, Run> run,
                                Set<String> aheadGraphs, Set<String> callerGraphs) {
        run.apply(false);   // warms the JIT
        Run serial = run.apply(false), ahead = run.apply(true);
        String caller = Thread.currentThread().getName();

        for (var c : serial.compiles()) assertEquals(caller, c.thread(), "without building ahead, " + c.graph() + " is compiled by its stage");
        Set<String> builtAhead = new TreeSet<>(), builtHere = new TreeSet<>();
        for (var c : ahead.compiles()) (c.thread().startsWith("plan-ahead-") ? builtAhead : builtHere).add(c.graph().replaceAll("_\\d+x\\d+x\\d+$", ""));
        assertEquals(aheadGraphs, builtAhead, "compiled on plan-ahead threads");
        assertEquals(callerGraphs, builtHere, "compiled by their stages");
        assertEquals(sortedFingerprints(serial), sortedFingerprints(ahead), "the same graphs either way");

        assertEquals(serial.tensors().keySet(), ahead.tensors().keySet());
        assertTrue(serial.tensors().keySet().stream().anyMatch(k -> k.startsWith("unet.")), "the denoising loop's tensors");
        int identical = 0;
        double worst = 0;
        for (var e : serial.tensors().entrySet()) {
            Tensor theirs = ahead.tensors().get(e.getKey());
            if (java.util.Arrays.equals(e.getValue().toFloatArray(), theirs.toFloatArray())) identical++;
            double err = TensorComparison.relativeError(theirs, e.getValue());
            worst = Math.max(worst, err);
            boolean result = e.getKey().equals("decode.latents") || e.getKey().equals("frames_float");
            assertTrue(err <= (result ? JITTER : INTERMEDIATE_JITTER), e.getKey() + " differs by " + err);
        }
        System.out.printf("plans built ahead vs by their stages: %d of %d intermediates bit for bit equal, the largest difference %.3g%n",
                identical, serial.tensors().size(), worst);
        assertEquals(frames, ahead.video().frames().size());
        assertTrue(TensorComparison.relativeError(ahead.video().framesFloat(), serial.video().framesFloat()) <= JITTER);
        for (int i = 0; i < frames; i++) {
            byte[] a = serial.video().frames().get(i).toByteArray(), b = ahead.video().frames().get(i).toByteArray();
            for (int k = 0; k < a.length; k++) assertTrue(Math.abs((a[k] & 0xff) - (b[k] & 0xff)) <= 1, "frame " + i + " byte " + k);
        }
        assertTrue(backend.opened.get() > 0);
        assertEquals(backend.opened.get(), backend.closed.get(), "every plan opened is closed");
    }

    private static List<String> sortedFingerprints(Run run) {
        List<String> prints = new ArrayList<>();
        for (var c : run.compiles()) prints.add(c.fingerprint());
        prints.sort(null);
        return prints;
    }
}
