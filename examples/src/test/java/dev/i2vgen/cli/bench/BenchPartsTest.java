package dev.i2vgen.cli.bench;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark's helpers: median, peak sampling, row arithmetic and the shipped diffusers figures. */
class BenchPartsTest {
    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(3.0, StageTimer.median(new double[]{5, 1, 3}));
        assertEquals(2.5, StageTimer.median(new double[]{4, 1, 3, 2}));
        assertThrows(IllegalArgumentException.class, () -> StageTimer.median(new double[0]));
    }

    @Test
    void timerRunsWarmupPlusRepeats() {
        int[] calls = {0};
        double s = StageTimer.medianSeconds(() -> calls[0]++, 2, 3);
        assertEquals(5, calls[0]);
        assertTrue(s >= 0);
    }

    @Test
    void samplerReportsPeakAboveBaselineAndResets() throws Exception {
        AtomicLong used = new AtomicLong(1000);
        try (PeakMemorySampler m = new PeakMemorySampler(used::get, 1)) {
            used.set(5000);
            Thread.sleep(30);   // the poller sees the spike
            used.set(1500);
            Thread.sleep(30);
            assertEquals(4000, m.peakBytes());
            m.reset();
            assertEquals(500, m.peakBytes());
        }
    }

    @Test
    void rowRatioAndTarget() {
        BenchRow faster = new BenchRow("k", "w", 0.5, "s", 1.0, 0.45);
        assertEquals(2.0, faster.ratio());
        assertEquals(false, faster.meetsTarget());
        BenchRow unmeasured = new BenchRow("k", "w", null, "GiB", 13.6, 13.6);
        assertNull(unmeasured.ratio());
        assertNull(unmeasured.meetsTarget());
    }

    @Test
    void anchorHoldsDiffusersH100Figures() {
        DiffusersAnchor a = DiffusersAnchor.load();
        assertEquals(0.7753711547851563, a.figure("unet_step_cfg_s"));
        assertTrue(a.figure("pipeline_peak_gib") > 13 && a.figure("pipeline_peak_gib") < 14);
        assertNull(a.figure("no_such_figure"));
    }

    @Test
    void anchorIsChosenByModelAndGpuKind() {
        DiffusersAnchor svdH100 = DiffusersAnchor.forGpu("svd-xt", "NVIDIA H100 80GB HBM3 (sm_90, 79 GiB)");
        assertEquals("H100", svdH100.gpuKind());
        assertEquals(0.6600218505859375, svdH100.figure("svd_unet_step_cfg_s"));
        DiffusersAnchor svdH200 = DiffusersAnchor.forGpu("svd-xt", "NVIDIA H200 (sm_90)");
        assertEquals("H200", svdH200.gpuKind());
        assertEquals(0.625142822265625, svdH200.figure("svd_unet_step_cfg_s"));
        assertEquals("H200", DiffusersAnchor.forGpu("i2vgen-xl", "NVIDIA H200").gpuKind());
        assertEquals(0.72989111328125, DiffusersAnchor.forGpu("i2vgen-xl", "NVIDIA H200").figure("unet_step_cfg_s"));
        assertEquals("H100", DiffusersAnchor.forGpu("i2vgen-xl", "jvm (2 threads)").gpuKind());
        assertThrows(IllegalArgumentException.class, () -> DiffusersAnchor.forGpu("sdxl", "NVIDIA H100"));
    }
}
