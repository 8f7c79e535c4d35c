package dev.i2vgen.io.image;

import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;

/**
 * diffusers' {@code _resize_with_antialiasing(x, size)} (Stable Video Diffusion's CLIP input) on float32
 * planes: a separable Gaussian blur whose per-axis σ grows with the shrink factor (along x, then along y,
 * reflect padding), then torch's bicubic {@code interpolate(..., align_corners=True)} ({@link TorchBicubic}).
 * <p>
 * The arithmetic follows torch's x86-64 CPU kernels (checked bit for bit against torch 2.13 on RGB input):
 * the blur accumulates its taps with fused multiply-adds in tap order (oneDNN's grouped convolution, which
 * torch uses for several channels), the kernel is normalised by torch's float sum. Known differences, each
 * an ulp here and there: torch's vectorised {@code exp} is not correctly rounded and this one is (about one
 * Gaussian tap in a hundred; never when upscaling, where the kernel is exactly [0, 1, 0]), and torch blurs a
 * lone single-channel plane with another convolution that sums in another order.
 */
public final class AntialiasedResize {
    /** Lanes of torch's float reduction (its AVX2 kernel, used on AVX-512 machines too). */
    private static final int SUM_LANES = 8;

    private AntialiasedResize() {}

    /** {@code x [N,C,H,W]} (read as float32) → float32 {@code [N,C,outHeight,outWidth]}. */
    public static Tensor apply(Tensor x, int outHeight, int outWidth) {
        int[] s = x.shape();
        if (s.length != 4) {
            throw new IllegalArgumentException("x must have shape [N,C,H,W], got " + Arrays.toString(s));
        }
        float[] out = apply(x.toFloatArray(), s[0] * s[1], s[2], s[3], outHeight, outWidth);
        return Tensor.fromFloats(out, s[0], s[1], outHeight, outWidth);
    }

    /**
     * {@code count} consecutive row-major {@code height × width} planes → as many {@code outHeight × outWidth}
     * planes (a new array). Each input side must be at least 2 (torch's reflect padding needs it).
     */
    public static float[] apply(float[] planes, int count, int height, int width, int outHeight, int outWidth) {
        if (count <= 0 || height <= 0 || width <= 0) {
            throw new IllegalArgumentException("plane count and size must be positive, got " + count + " planes of " + width + "×" + height);
        }
        if (outHeight <= 0 || outWidth <= 0) {
            throw new IllegalArgumentException("output size must be positive, got " + outWidth + "×" + outHeight);
        }
        if (planes.length != (long) count * height * width) {
            throw new IllegalArgumentException("planes must hold " + count + "·" + height + "·" + width + " values, got " + planes.length);
        }
        double sigmaY = sigma(height, outHeight), sigmaX = sigma(width, outWidth);
        float[] kernelX = gaussianKernel(kernelSize(sigmaX), (float) sigmaX);
        float[] kernelY = gaussianKernel(kernelSize(sigmaY), (float) sigmaY);
        requireReflectable(width, kernelX.length, "width");
        requireReflectable(height, kernelY.length, "height");
        int plane = height * width, outPlane = outHeight * outWidth;
        float[] out = new float[count * outPlane];
        float[] alongX = new float[plane], blurred = new float[plane];
        for (int p = 0; p < count; p++) {
            blurAlongX(planes, p * plane, alongX, height, width, kernelX);
            blurAlongY(alongX, blurred, height, width, kernelY);
            TorchBicubic.resize(blurred, 0, height, width, out, p * outPlane, outHeight, outWidth);
        }
        return out;
    }

    /** Per-axis σ in Python doubles, as diffusers takes it from skimage: {@code max((in/out − 1)/2, 0.001)}. */
    static double sigma(int in, int out) {
        return Math.max(((double) in / out - 1.0) / 2.0, 0.001);
    }

    /** {@code int(max(4σ, 3))}, made odd by adding one (σ still the double, as in diffusers). */
    static int kernelSize(double sigma) {
        int k = (int) Math.max(2.0 * 2 * sigma, 3);
        return k % 2 == 0 ? k + 1 : k;
    }

    /**
     * diffusers' {@code _gaussian} in float32: {@code exp(−x²/(2σ²))} at {@code x = i − size//2}, divided by its
     * sum. Odd sizes only (the ½ shift diffusers applies to even sizes never happens after {@link #kernelSize}).
     */
    static float[] gaussianKernel(int size, float sigma) {
        if (size <= 0 || size % 2 == 0) throw new IllegalArgumentException("kernel size must be odd and positive, got " + size);
        float twoSigmaSq = 2 * (sigma * sigma);
        float[] g = new float[size];
        for (int i = 0; i < size; i++) {
            float x = i - size / 2;
            g[i] = (float) StrictMath.exp(-(x * x) / twoSigmaSq);
        }
        float sum = torchSum(g);
        for (int i = 0; i < size; i++) g[i] /= sum;
        return g;
    }

    /**
     * torch's float {@code sum} of a short contiguous row (fewer than 512 values). Below 8 values: four
     * interleaved partial sums, the tail into the first, then folded. From 8 on: the same over 8-lane
     * vectors, then the scalar tail summed from zero, then the lanes added in order.
     */
    static float torchSum(float[] v) {
        if (v.length < SUM_LANES) {
            float[] acc = new float[4];
            int full = v.length / 4 * 4;
            for (int i = 0; i < full; i += 4) for (int k = 0; k < 4; k++) acc[k] += v[i + k];
            for (int i = full; i < v.length; i++) acc[0] += v[i];
            return acc[0] + acc[1] + acc[2] + acc[3];
        }
        int vectors = v.length / SUM_LANES, full = vectors / 4 * 4;
        float[][] acc = new float[4][SUM_LANES];
        for (int i = 0; i < full; i += 4) {
            for (int k = 0; k < 4; k++) for (int l = 0; l < SUM_LANES; l++) acc[k][l] += v[(i + k) * SUM_LANES + l];
        }
        for (int i = full; i < vectors; i++) for (int l = 0; l < SUM_LANES; l++) acc[0][l] += v[i * SUM_LANES + l];
        for (int k = 1; k < 4; k++) for (int l = 0; l < SUM_LANES; l++) acc[0][l] += acc[k][l];
        float total = 0;
        for (int i = vectors * SUM_LANES; i < v.length; i++) total += v[i];
        for (int l = 0; l < SUM_LANES; l++) total += acc[0][l];
        return total;
    }

    private static void requireReflectable(int size, int kernel, String axis) {
        if (kernel / 2 >= size) {
            throw new IllegalArgumentException("input " + axis + " must exceed the blur's reflect padding of "
                    + kernel / 2 + ", got " + size);
        }
    }

    /** torch's "reflect" padding index (edge not repeated): −1 → 1, n → n − 2. */
    private static int reflect(int i, int n) {
        if (i < 0) return -i;
        if (i >= n) return 2 * (n - 1) - i;
        return i;
    }

    private static void blurAlongX(float[] in, int offset, float[] out, int h, int w, float[] k) {
        int r = k.length / 2;
        for (int y = 0; y < h; y++) {
            int row = offset + y * w;
            for (int x = 0; x < w; x++) {
                float acc = in[row + reflect(x - r, w)] * k[0];
                for (int j = 1; j < k.length; j++) acc = Math.fma(in[row + reflect(x - r + j, w)], k[j], acc);
                out[y * w + x] = acc;
            }
        }
    }

    private static void blurAlongY(float[] in, float[] out, int h, int w, float[] k) {
        int r = k.length / 2;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float acc = in[reflect(y - r, h) * w + x] * k[0];
                for (int j = 1; j < k.length; j++) acc = Math.fma(in[reflect(y - r + j, h) * w + x], k[j], acc);
                out[y * w + x] = acc;
            }
        }
    }
}
