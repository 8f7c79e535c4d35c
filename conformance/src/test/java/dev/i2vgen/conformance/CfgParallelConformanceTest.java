package dev.i2vgen.conformance;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.cuda.CudaBackend;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.sampler.pipeline.GenerationRequest;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import dev.i2vgen.sampler.pipeline.VideoRequest;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CFG-parallel denoising (one video on two devices, a half of the guidance batch on each) from the case's seed against
 * diffusers, as {@link PipelineConformanceTest} checks one device: on two JVM backends (CI), and on CUDA where a GPU is
 * present: two backends of GPU 0 sharing its primary context (two streams), GPU 0's primary context with a context of
 * its own (the peer-copy path between contexts), and GPUs 0 and 1 where there are two. On CUDA the two-device run is
 * also compared with the one-device run on GPU 0 (the final latents and frames; fp32 within 1e-5, fp16 within the
 * reduced-precision frames bound) and the differences are printed. Skips with the reason where a device is missing.
 */
class CfgParallelConformanceTest {
    static final double SAME_RUN_TOLERANCE = 1e-5;

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "svd-tiny"})
    void twoJvmBackendsMatchDiffusers(String caseName) throws Exception {
        check(caseName, "jvm", DType.F32, () -> List.of(Backends.create("jvm"), Backends.create("jvm")));
    }

    /**
     * @param pair "shared" (two backends of GPU 0's primary context), "own" (GPU 0's primary context and a context of
     *             its own) or "gpus" (GPUs 0 and 1)
     */
    @ParameterizedTest
    @CsvSource({"tiny,F32,shared", "tiny,F32,own", "svd-tiny,F32,own", "tiny,F16,own", "svd-tiny,F16,shared",
            "tiny,F32,gpus", "svd-tiny,F32,gpus", "tiny,F16,gpus", "svd-tiny,F16,gpus"})
    void cudaMatchesDiffusersAndTheOneDeviceRun(String caseName, DType dtype, String pair) throws Exception {
        PipelineConformanceTest.assumeBackend("cuda");
        if (pair.equals("gpus")) {
            int n = CudaBackend.deviceCount();
            Assumptions.assumeTrue(n >= 2, "skipped: one CUDA device here (" + n + "); two GPUs needed");
        }
        Map<String, Tensor> two = check(caseName, "cuda " + pair, dtype, () -> switch (pair) {
            case "shared" -> List.of(CudaBackend.create(0), CudaBackend.create(0));
            case "own" -> List.of(CudaBackend.create(0), CudaBackend.withOwnContext(0));
            case "gpus" -> List.of(CudaBackend.create(0), CudaBackend.create(1));
            default -> throw new IllegalArgumentException(pair);
        });
        Map<String, Tensor> one;
        try (ReferenceCase ref = ReferenceCase.bundled(caseName); Backend backend = CudaBackend.create(0);
             VideoPipeline pipeline = VideoPipelines.fromPretrained(ref.checkpoint(), backend, dtype)) {
            one = record(pipeline, request(ref));
        }
        double bound = dtype == DType.F32 ? SAME_RUN_TOLERANCE : PipelineConformanceTest.REDUCED_PRECISION_FRAMES;
        List<String> report = new ArrayList<>();
        for (String name : List.of("decode.latents", "frames_float")) {
            double err = TensorComparison.relativeError(two.get(name), one.get(name));
            System.out.printf("%s %s on cuda %s: two devices vs one, %s relative difference %.3g (bound %.0e)%n",
                    caseName, dtype, pair, name, err, bound);
            if (!(err <= bound)) report.add(name + " " + err);
        }
        assertTrue(report.isEmpty(), caseName + " " + dtype + " on cuda " + pair + ": two devices differ from one: " + report);
    }

    /** The two-device run against the case (fp32: every stage within 1e-4, frames ±1; else the reduced-precision bounds). */
    private static Map<String, Tensor> check(String caseName, String where, DType dtype, Supplier<List<Backend>> open) throws Exception {
        List<Backend> devices = open.get();
        try (ReferenceCase ref = ReferenceCase.bundled(caseName);
             VideoPipeline pipeline = VideoPipelines.fromPretrained(ref.checkpoint(), devices, dtype)) {
            VideoRequest req = request(ref);
            Map<String, Tensor> seen = new LinkedHashMap<>();
            boolean fp32 = dtype == DType.F32;
            PipelineConformanceTest.assertRunMatches(caseName, "two devices (" + where + ")", dtype,
                    fp32 ? PipelineConformanceTest.STAGE_TOLERANCE : Double.POSITIVE_INFINITY, fp32 ? 1 : Integer.MAX_VALUE, ref, 9,
                    listener -> pipeline.generate(req, recording(listener, seen)));
            return seen;
        } finally {
            for (Backend b : devices) b.close();
        }
    }

    private static VideoRequest request(ReferenceCase ref) throws Exception {
        if (ref.dir().getFileName().toString().startsWith("svd")) return SvdPipelineConformanceTest.request(ref);
        return GenerationRequest.builder(ref.prompt(), ImageLoader.read(ref.inputImage()))
                .negativePrompt(ref.negativePrompt()).height(ref.height()).width(ref.width()).numFrames(ref.numFrames())
                .steps(ref.steps()).guidance(ref.guidance()).fps(ref.fps()).seed(ref.seed())
                .decodeChunkSize(ref.decodeChunkSize()).build();
    }

    private static Map<String, Tensor> record(VideoPipeline pipeline, VideoRequest req) {
        Map<String, Tensor> seen = new LinkedHashMap<>();
        pipeline.generate(req, recording(PipelineListener.NONE, seen));
        return seen;
    }

    /** {@code listener} with every tensor also kept in {@code seen}. */
    private static PipelineListener recording(PipelineListener listener, Map<String, Tensor> seen) {
        return new PipelineListener() {
            @Override public boolean wantsTensors() { return true; }

            @Override public void tensor(String name, Tensor value) {
                seen.put(name, value);
                if (listener.wantsTensors()) listener.tensor(name, value);
            }
        };
    }
}
