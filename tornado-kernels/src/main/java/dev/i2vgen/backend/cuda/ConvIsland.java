package dev.i2vgen.backend.cuda;

/**
 * The choice, per convolution shape, between cuDNN's NCHW convolution and a channels-last "island": x permuted to
 * NHWC, cuDNN's NHWC convolution (KRSC filter, bias fused), y permuted back. cuDNN's NCHW fast algorithm transposes
 * internally anyway; its NHWC kernels ran 1.1–1.7x faster than the NCHW call at the UNet's shapes, permutes
 * included (H100, notes §14). Decided at plan build by timing both variants as they will run, on the plan's
 * buffers (cuDNN's FindEx time of the NCHW conv leaves out 10–20 % of what its fused-bias call costs, so FindEx
 * alone chose wrongly at half the shapes); the FindEx NHWC time plus the permutes computed from their bytes is kept
 * as an estimate for the log. The island's NHWC x and y live in the tail of the backend's cuDNN workspace, so an
 * island costs no device memory beyond the KRSC copy of its weight (which replaces the NCHW copy: only the winner's
 * copy is uploaded); images are grouped so that both copies and the conv's own workspace fit.
 *
 * @param island         whether the island runs
 * @param imagesPerGroup images per permute/conv/permute round (a divisor of N)
 * @param nchwMillis     the NCHW conv (bias included) timed at plan build; NaN when not timed
 * @param islandMillis   the island (permutes, NHWC conv, bias) timed at plan build; NaN when not timed
 * @param estimateMillis FindEx's NHWC time plus the permutes computed at {@link #PERMUTE_BYTES_PER_MS}
 */
record ConvIsland(boolean island, int imagesPerGroup, float nchwMillis, float islandMillis, float estimateMillis) {
    /** Permute bandwidth (bytes read + written per ms): 2.6 TB/s, a little under the measured 2.7–2.9 TB/s. */
    static final double PERMUTE_BYTES_PER_MS = 2.6e9;
    /** Launch and tail cost per permute launch inside a CUDA graph. */
    static final double PERMUTE_LAUNCH_MS = 0.003;
    /** The island must beat NCHW by this fraction (best of 3 timings each; replays differ by ~1 %). */
    static final double MARGIN = 0.03;

    /**
     * Largest divisor d of N whose NHWC x and y (each rounded to 256 bytes) fit the workspace twice over beside the
     * weights and the margin: the island keeps one copy in the workspace's tail and cuDNN's own group sizing
     * ({@link CudnnConvolution#imagesPerCall}) reserves room for another in the part left to the convolution, so
     * the NHWC convolution then runs as one call. 0 when not even one image fits.
     */
    static int imagesPerGroup(CudnnConvolution.Geometry g, int elementBytes, long workspaceBytes) {
        long weights = 2 * g.weights() * elementBytes + CudnnConvolution.WORKSPACE_MARGIN;
        long maxIndex = (Integer.MAX_VALUE - 1L) / Math.max(g.xImage(), g.yImage());
        for (long d = Math.min(g.n(), maxIndex); d >= 1; d--) {
            if (g.n() % d != 0) continue;
            long copies = align(d * g.xImage() * elementBytes) + align(d * g.yImage() * elementBytes);
            if (2 * copies + weights <= workspaceBytes) return (int) d;
        }
        return 0;
    }

    /** Both permutes of all images: x read and written, y read and written, plus two launches per group. */
    static float permuteMillis(CudnnConvolution.Geometry g, int elementBytes, int groups) {
        double bytes = 2.0 * g.n() * (g.xImage() + g.yImage()) * elementBytes;
        return (float) (bytes / PERMUTE_BYTES_PER_MS + 2 * groups * PERMUTE_LAUNCH_MS);
    }

    /** The island wins when it takes at most (1 − MARGIN) of the NCHW time; never on NaN. */
    static boolean wins(float nchwMillis, float islandMillis) {
        return !Float.isNaN(nchwMillis) && !Float.isNaN(islandMillis) && islandMillis <= (1 - MARGIN) * nchwMillis;
    }

    static long align(long bytes) { return (bytes + 255) / 256 * 256; }

    @Override
    public String toString() {
        return String.format("%s (timed NCHW %.3f ms, island %.3f ms; FindEx NHWC + permutes %.3f ms; %d images per group)",
                island ? "island" : "NCHW", nchwMillis, islandMillis, estimateMillis, imagesPerGroup);
    }

    /** As {@link AlgorithmCache} stores it. */
    String format() { return island + " " + imagesPerGroup + " " + nchwMillis + " " + islandMillis + " " + estimateMillis; }

    static ConvIsland parse(String s) {
        String[] f = s.split(" ");
        return new ConvIsland(Boolean.parseBoolean(f[0]), Integer.parseInt(f[1]), Float.parseFloat(f[2]), Float.parseFloat(f[3]),
                Float.parseFloat(f[4]));
    }
}
