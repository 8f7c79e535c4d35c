package dev.i2vgen.sampler.scheduler;

/**
 * The numpy routines that diffusers' schedulers call, with numpy's own float64 arithmetic order, so that the
 * float32 values cast from them match diffusers' (each result rounds exactly as numpy's does).
 */
final class NumpyMath {
    private NumpyMath() {}

    /**
     * {@code np.linspace(start, stop, num)} in float64: {@code i·step + start} with {@code step = (stop − start)/(num − 1)},
     * the last value pinned to {@code stop}; a single value is {@code start}.
     */
    static double[] linspace(double start, double stop, int num) {
        double[] y = new double[num];
        if (num == 1) {
            y[0] = start;
            return y;
        }
        double delta = stop - start;
        double step = delta / (num - 1);
        for (int i = 0; i < num; i++) {
            // numpy divides first when the step underflows to 0 (denormal ranges)
            y[i] = (step == 0 ? (double) i / (num - 1) * delta : i * step) + start;
        }
        y[num - 1] = stop;
        return y;
    }

    /**
     * {@code np.arange(start, stop, step)} with a float step: {@code ceil((stop − start)/step)} values (which can be
     * one more than the exact quotient suggests), filled as {@code start + i·d} with {@code d = (start + step) − start}.
     */
    static double[] arange(double start, double stop, double step) {
        double count = Math.ceil((stop - start) / step);
        int length = count > 0 ? Math.toIntExact((long) count) : 0;
        double[] out = new double[length];
        if (length == 0) return out;
        out[0] = start;
        if (length > 1) out[1] = start + step;
        double d = (start + step) - start;
        for (int i = 2; i < length; i++) out[i] = start + i * d;
        return out;
    }

    /**
     * {@code np.interp(x, np.arange(len(fp)), fp)}: piecewise-linear values at {@code x}, clamped to the end values;
     * numpy's expression {@code slope·(x − x_j) + f_j}, with the other end as fallback when that is NaN.
     */
    static double[] interpAtIndices(float[] x, float[] fp) {
        int last = fp.length - 1;
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double xv = x[i];
            if (Double.isNaN(xv)) {
                out[i] = xv;
            } else if (xv < 0) {
                out[i] = fp[0];
            } else if (xv >= last) {
                out[i] = fp[last];
            } else {
                int j = (int) Math.floor(xv);
                if (j == xv) {
                    out[i] = fp[j];
                } else {
                    double slope = ((double) fp[j + 1] - fp[j]) / 1.0;
                    double v = slope * (xv - j) + fp[j];
                    if (Double.isNaN(v)) {
                        v = slope * (xv - (j + 1)) + fp[j + 1];
                        if (Double.isNaN(v) && fp[j] == fp[j + 1]) v = fp[j];
                    }
                    out[i] = v;
                }
            }
        }
        return out;
    }

    /**
     * {@code np.log} of a float32: the correctly rounded float32 logarithm. numpy's SIMD kernels (and torch's) are
     * within an ulp of it but not always equal, so results derived from it agree to float32 precision, not bit for bit.
     */
    static float logFloat32(float x) {
        return (float) Math.log(x);
    }
}
