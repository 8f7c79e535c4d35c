package dev.i2vgen.sampler.scheduler;

/**
 * The multistep DPM-Solver updates on float arrays, in float32 operation by operation as diffusers' tensor code: each
 * tensor term is scalar × tensor ({@link DpmSolverUpdateScalars}), the differences of the model outputs are formed
 * first, and the terms are summed left to right.
 *
 * <p>m0, m1, m2 are the converted model outputs (x0 for the ++ variants, ε otherwise) at s0, s1, s2, newest first
 * (those the order does not use may be null); {@code noise} is the standard normal draw of the stochastic variants
 * (null for the others).
 */
final class DpmSolverUpdates {
    private DpmSolverUpdates() {}

    /** x_t from x by the update {@code k} (its order says which outputs it reads). */
    static float[] apply(DpmSolverUpdateScalars k, float[] m0, float[] m1, float[] m2, float[] x, float[] noise) {
        int n = x.length;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float v = k.a() * x[i] + k.b() * m0[i];
            if (k.order() == 2) {
                v = v + k.c() * (k.inverseR0() * (m0[i] - m1[i]));
            } else if (k.order() == 3) {
                float d10 = k.inverseR0() * (m0[i] - m1[i]);
                float d11 = k.inverseR1() * (m1[i] - m2[i]);
                float d1 = d10 + k.d1Weight() * (d10 - d11);
                float d2 = k.d2Weight() * (d10 - d11);
                v = v + k.c() * d1 + k.d() * d2;
            }
            out[i] = noise == null ? v : v + k.noiseScale() * noise[i];
        }
        return out;
    }
}
