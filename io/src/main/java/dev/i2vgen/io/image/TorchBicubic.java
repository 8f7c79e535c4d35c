package dev.i2vgen.io.image;

/**
 * torch's CPU {@code interpolate(x, size, mode="bicubic", align_corners=True)} on one float32 plane,
 * bit for bit (checked against torch 2.13's x86-64 build, which reproduces the diffusers reference run).
 * <p>
 * Output pixel (y, x) samples source position {@code (y·(h−1)/(oh−1), x·(w−1)/(ow−1))} (scale rounded to
 * float first); four clamped taps per axis with Keys' cubic, {@code a = −0.75}. Each of the four source rows
 * is first interpolated along x, then the four row results along y. torch's kernels are compiled with
 * fused multiply-adds, and where GCC fused them is part of the result, so it is spelled out with
 * {@link Math#fma} below.
 */
final class TorchBicubic {
    private static final float A = -0.75f;

    private TorchBicubic() {}

    /** Resizes the {@code h × w} plane at {@code in[inOffset]} into the {@code oh × ow} plane at {@code out[outOffset]}. */
    static void resize(float[] in, int inOffset, int h, int w, float[] out, int outOffset, int oh, int ow) {
        Taps ty = Taps.of(h, oh), tx = Taps.of(w, ow);
        float[] rows = new float[4];
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                for (int j = 0; j < 4; j++) {
                    rows[j] = dot(in, inOffset + ty.index[oy * 4 + j] * w, tx.index, tx.weight, ox * 4);
                }
                out[outOffset + oy * ow + ox] = dot4(rows, ty.weight, oy * 4);
            }
        }
    }

    /** One row's four taps: GCC fuses the first product into the first add, the others into running sums. */
    private static float dot(float[] in, int row, int[] index, float[] weight, int k) {
        float acc = Math.fma(in[row + index[k]], weight[k], in[row + index[k + 1]] * weight[k + 1]);
        acc = Math.fma(in[row + index[k + 2]], weight[k + 2], acc);
        return Math.fma(in[row + index[k + 3]], weight[k + 3], acc);
    }

    private static float dot4(float[] v, float[] weight, int k) {
        float acc = Math.fma(v[0], weight[k], v[1] * weight[k + 1]);
        acc = Math.fma(v[2], weight[k + 2], acc);
        return Math.fma(v[3], weight[k + 3], acc);
    }

    /** Per output position of one axis: four clamped source indices and their cubic weights. */
    record Taps(int[] index, float[] weight) {
        static Taps of(int in, int out) {
            float scale = out > 1 ? (float) (in - 1) / (out - 1) : 0f;
            int[] index = new int[out * 4];
            float[] weight = new float[out * 4];
            for (int o = 0; o < out; o++) {
                float src = scale * o;
                int i0 = Math.min((int) Math.floor(src), in - 1);
                float t = Math.min(Math.max(src - i0, 0f), 1f);
                weight[o * 4] = outer(t + 1f);
                weight[o * 4 + 1] = inner(t);
                weight[o * 4 + 2] = inner(1f - t);
                weight[o * 4 + 3] = outer((1f - t) + 1f);
                for (int j = 0; j < 4; j++) index[o * 4 + j] = Math.clamp(i0 - 1 + j, 0, in - 1);
            }
            return new Taps(index, weight);
        }

        /** {@code ((a+2)x − (a+3))·x·x + 1} for |x| ≤ 1; only the first multiply-add is fused in torch's build. */
        static float inner(float x) {
            return Math.fma(A + 2, x, -(A + 3)) * x * x + 1;
        }

        /** {@code ((a·x − 5a)·x + 8a)·x − 4a} for 1 ≤ |x| ≤ 2; the first two multiply-adds are fused, the last not. */
        static float outer(float x) {
            return Math.fma(Math.fma(A, x, -5 * A), x, 8 * A) * x - 4 * A;
        }
    }
}
