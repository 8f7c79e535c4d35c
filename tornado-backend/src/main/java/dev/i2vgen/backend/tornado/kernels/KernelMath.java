package dev.i2vgen.backend.tornado.kernels;

import uk.ac.manchester.tornado.api.math.TornadoMath;

/** Scalar functions the kernels share (inlined by TornadoVM's compiler). */
final class KernelMath {
    private KernelMath() {}

    static float sigmoid(float x) { return 1.0f / (1.0f + TornadoMath.exp(-x)); }

    /** Exact GELU, 0.5·x·(1 + erf(x/√2)). */
    static float gelu(float x) { return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f)); }

    /**
     * erf through the Chebyshev fit of erfc the JVM backend uses (Numerical Recipes; fractional error below 1.2e-7),
     * evaluated in float: OpenCL C has erf, but TornadoVM's Java has no intrinsic for it.
     */
    static float erf(float x) {
        float z = TornadoMath.abs(x);
        float t = 1.0f / (1.0f + 0.5f * z);
        float poly = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f
                + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
        float erfc = t * TornadoMath.exp(-z * z + poly);
        return x >= 0 ? 1.0f - erfc : erfc - 1.0f;
    }
}
