package dev.i2vgen.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The island's group sizing and decision arithmetic (no device): UNet shapes in fp16 under the 1 GiB workspace. */
class ConvIslandTest {
    private static final long GIB = 1L << 30;

    private static CudnnConvolution.Geometry conv3x3(int n, int c, int o, int h, int w) {
        return new CudnnConvolution.Geometry(n, c, h, w, o, 3, 3, 1, 1, 1, 1, h, w);
    }

    @Test
    void groupsFitTwoCopiesBesideTheWeights() {
        // level 0: x and y 9.0 MB per image each; 2·(d·18 MB) + 20.5 MB ≤ 1073.7 MB → d ≤ 29 → 16 (a divisor of 32)
        assertEquals(16, ConvIsland.imagesPerGroup(conv3x3(32, 320, 320, 88, 160), 2, GIB));
        assertEquals(32, ConvIsland.imagesPerGroup(conv3x3(32, 640, 640, 44, 80), 2, GIB));
        assertEquals(32, ConvIsland.imagesPerGroup(conv3x3(32, 1280, 1280, 22, 40), 2, GIB));
        assertEquals(32, ConvIsland.imagesPerGroup(conv3x3(32, 1280, 1280, 11, 20), 2, GIB));
        // the up block's concatenated input, 960 → 320 at 88x160: 36 MB per image → d ≤ 14 → 8
        assertEquals(8, ConvIsland.imagesPerGroup(conv3x3(32, 960, 320, 88, 160), 2, GIB));
        // the CudaOpsTest split case: 4 x 64 x 40x48 under 19 MiB → 2 groups of 2
        assertEquals(2, ConvIsland.imagesPerGroup(conv3x3(4, 64, 64, 40, 48), 2, 19L << 20));
        assertEquals(0, ConvIsland.imagesPerGroup(conv3x3(4, 64, 64, 40, 48), 2, 16L << 20));
        // every group the island takes also fits cuDNN's own sizing in what is left: one NHWC call per group
        for (int[] s : new int[][]{{32, 320, 320, 88, 160}, {32, 960, 320, 88, 160}, {32, 2560, 1280, 22, 40}, {4, 64, 64, 40, 48}}) {
            long bound = s[0] == 4 ? 19L << 20 : GIB;
            var g = conv3x3(s[0], s[1], s[2], s[3], s[4]);
            int d = ConvIsland.imagesPerGroup(g, 2, bound);
            long tail = ConvIsland.align((long) d * g.xImage() * 2) + ConvIsland.align((long) d * g.yImage() * 2);
            assertEquals(d, CudnnConvolution.imagesPerCall(conv3x3(d, s[1], s[2], s[3], s[4]), 2, (bound - tail) / 256 * 256));
        }
    }

    @Test
    void decisionArithmetic() {
        // level 0, 32 images: 2 · 576.7 MB at 2.6 TB/s = 0.444 ms + 4 launches of 3 µs
        float p = ConvIsland.permuteMillis(conv3x3(32, 320, 320, 88, 160), 2, 2);
        assertEquals(0.4556, p, 1e-3);
        // the H100's replays (notes §14): 2.015 ms NCHW vs 1.632 island at level 0; 3.842 vs 3.815 is within the margin
        assertTrue(ConvIsland.wins(2.015f, 1.632f));
        assertFalse(ConvIsland.wins(3.842f, 3.815f));
        assertFalse(ConvIsland.wins(Float.NaN, 0.5f));
        assertFalse(ConvIsland.wins(1.0f, Float.NaN));
    }
}
