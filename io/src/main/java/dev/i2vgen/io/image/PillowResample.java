package dev.i2vgen.io.image;

/**
 * Pillow's {@code Image.resize(size, filter)} for 8-bit RGB, reproduced bit for bit (checked against
 * the diffusers reference crops): separable, horizontal pass first into an 8-bit intermediate, each
 * pass with normalised filter weights quantised to 22-bit fixed point, rounded and clamped to 0..255.
 */
public final class PillowResample {
    /** Fixed-point fraction bits: 32 − 8 (pixel) − 2 (headroom for negative/overshooting cubic lobes). */
    private static final int PRECISION_BITS = 22;

    private PillowResample() {}

    public static RgbImage resize(RgbImage image, int width, int height, ResampleFilter filter) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("resize target must be positive, got " + width + "×" + height);
        }
        byte[] data = image.data();
        int w = image.width(), h = image.height();
        if (width != w) {
            data = horizontal(data, w, h, width, Coefficients.of(w, width, filter));
            w = width;
        }
        if (height != h) {
            data = vertical(data, w, h, height, Coefficients.of(h, height, filter));
        }
        // Equal sizes: PIL returns a copy; RgbImage is immutable, so the same pixels are shared.
        return data == image.data() ? image : RgbImage.adopt(width, height, data);
    }

    /** Per output sample: first input index, tap count and the fixed-point weights. */
    record Coefficients(int[] first, int[] count, int[][] weights) {
        static Coefficients of(int inSize, int outSize, ResampleFilter filter) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filter.support() * filterScale;
            double invFilterScale = 1.0 / filterScale; // Pillow multiplies by the reciprocal; dividing can differ in the last bit
            int[] first = new int[outSize], count = new int[outSize];
            int[][] weights = new int[outSize][];
            for (int o = 0; o < outSize; o++) {
                double center = (o + 0.5) * scale;
                int lo = Math.max((int) (center - support + 0.5), 0);
                int hi = Math.min((int) (center + support + 0.5), inSize);
                int n = hi - lo;
                double[] w = new double[n];
                double sum = 0.0;
                for (int k = 0; k < n; k++) {
                    w[k] = filter.weight((k + lo - center + 0.5) * invFilterScale);
                    sum += w[k];
                }
                int[] q = new int[n];
                for (int k = 0; k < n; k++) {
                    double v = sum != 0.0 ? w[k] / sum : w[k];
                    q[k] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
                }
                first[o] = lo;
                count[o] = n;
                weights[o] = q;
            }
            return new Coefficients(first, count, weights);
        }
    }

    private static byte[] horizontal(byte[] in, int inW, int h, int outW, Coefficients cf) {
        byte[] out = new byte[outW * h * 3];
        for (int y = 0; y < h; y++) {
            int rowIn = y * inW * 3, rowOut = y * outW * 3;
            for (int o = 0; o < outW; o++) {
                int[] q = cf.weights[o];
                int base = rowIn + cf.first[o] * 3;
                int r = 1 << (PRECISION_BITS - 1), g = r, b = r;
                for (int k = 0; k < q.length; k++) {
                    int p = base + k * 3;
                    r += (in[p] & 0xFF) * q[k];
                    g += (in[p + 1] & 0xFF) * q[k];
                    b += (in[p + 2] & 0xFF) * q[k];
                }
                int d = rowOut + o * 3;
                out[d] = clip8(r);
                out[d + 1] = clip8(g);
                out[d + 2] = clip8(b);
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] in, int w, int inH, int outH, Coefficients cf) {
        byte[] out = new byte[w * outH * 3];
        int stride = w * 3;
        int[] acc = new int[stride];
        for (int o = 0; o < outH; o++) {
            int[] q = cf.weights[o];
            java.util.Arrays.fill(acc, 1 << (PRECISION_BITS - 1));
            // Taps outermost so every inner loop walks one contiguous source row.
            for (int k = 0; k < q.length; k++) {
                int row = (cf.first[o] + k) * stride, qk = q[k];
                for (int i = 0; i < stride; i++) acc[i] += (in[row + i] & 0xFF) * qk;
            }
            for (int i = 0; i < stride; i++) out[o * stride + i] = clip8(acc[i]);
        }
        return out;
    }

    /** Arithmetic shift then clamp, as Pillow's lookup-table clip (32-bit accumulator). */
    private static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }
}
