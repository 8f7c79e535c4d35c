package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.LinkedLoopCase;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link CudaPlanLink} on every route, with the exchange's ordering under load: the source's runs are long chains of
 * kernels and every run is submitted, so a target that did not wait for its copy, or a copy that overwrote what the
 * target was still reading, would change the sum ({@link LinkedLoopCase}). One GPU covers the same stream, two streams
 * of the primary context, two contexts (peer copy within the GPU, with and without a dtype conversion) and the staging
 * through page-locked host memory; two GPUs add the copy between devices. Skips with the reason without a GPU.
 */
class CudaPlanLinkTest {
    /** 4 Mi elements through 48 tanh + affine passes a run: milliseconds of GPU work per run, behind each copy. */
    static final LinkedLoopCase HEAVY = new LinkedLoopCase(1024, 4096, 48, 6, DType.F32);

    @BeforeAll
    static void requireCuda() {
        BackendProvider p = new CudaBackendProvider();
        Assumptions.assumeTrue(p.isAvailable(), "CUDA backend unavailable: " + p.unavailableReason());
    }

    @Test
    void twoPlansOfOneBackendCopyOnTheirStream() {
        try (CudaBackend a = CudaBackend.create(0)) {
            assertEquals(CudaPlanLink.Route.SAME_STREAM.words, HEAVY.check(a, a, CudaPlanLinkTest::auto));
        }
    }

    @Test
    void twoBackendsOfThePrimaryContextOrderTheirStreamsWithEvents() {
        try (CudaBackend a = CudaBackend.create(0); CudaBackend b = CudaBackend.create(0)) {
            assertEquals(CudaPlanLink.Route.SAME_CONTEXT.words, HEAVY.check(a, b, CudaPlanLinkTest::auto));
            assertEquals(CudaPlanLink.Route.SAME_CONTEXT.words, HEAVY.check(b, a, CudaPlanLinkTest::auto));
        }
    }

    @Test
    void twoContextsOfOneGpuCopyPeerToPeer() {
        try (CudaBackend a = CudaBackend.create(0); CudaBackend own = CudaBackend.withOwnContext(0)) {
            assertEquals(CudaPlanLink.Route.PEER.words, HEAVY.check(a, own, CudaPlanLinkTest::auto));
            assertEquals(CudaPlanLink.Route.PEER.words, HEAVY.check(own, a, CudaPlanLinkTest::auto));
            // F32 output into an F16 input: lands in the source's dtype on the target's device, converted there
            LinkedLoopCase converting = new LinkedLoopCase(512, 1024, 16, 4, DType.F16);
            assertEquals(CudaPlanLink.Route.PEER.words, converting.check(a, own, CudaPlanLinkTest::auto));
        }
    }

    @Test
    void stagingThroughPinnedHostMemoryKeepsTheOrder() {
        try (CudaBackend a = CudaBackend.create(0); CudaBackend own = CudaBackend.withOwnContext(0)) {
            LinkedLoopCase.LinkFactory staged = (source, output, target, input) -> CudaPlanLink.open((CudaExecutionPlan) source,
                    output, (CudaExecutionPlan) target, input, CudaPlanLink.Route.HOST_STAGED);
            assertEquals(CudaPlanLink.Route.HOST_STAGED.words, HEAVY.check(a, own, staged));
            assertEquals(CudaPlanLink.Route.HOST_STAGED.words, new LinkedLoopCase(256, 512, 8, 4, DType.BF16).check(own, a, staged));
        }
    }

    @Test
    void twoGpusExchangeDirectlyOrThroughTheHost() {
        int devices = CudaBackend.deviceCount();
        Assumptions.assumeTrue(devices >= 2, "skipped: one CUDA device here (" + devices + "); the copy between two GPUs needs two");
        try (CudaBackend a = CudaBackend.create(0); CudaBackend b = CudaBackend.create(1)) {
            String route = HEAVY.check(a, b, CudaPlanLinkTest::auto);
            System.out.println("CUDA devices 0 and 1 (" + a.deviceDescription() + "; " + b.deviceDescription() + "): " + route);
            HEAVY.check(b, a, CudaPlanLinkTest::auto);
        }
    }

    private static dev.i2vgen.backend.PlanLink auto(dev.i2vgen.backend.ExecutionPlan source, dev.i2vgen.graph.Value output,
                                                  dev.i2vgen.backend.ExecutionPlan target, dev.i2vgen.graph.Value input) {
        return source.linkTo(output, target, input);
    }
}
