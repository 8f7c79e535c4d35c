package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Map;

/**
 * One I4VGen NI-VSDS iteration as a single graph, so the iterations stay on the backend: the video z (loop-carried:
 * {@link #NEXT_Z} is copied back into {@link #Z}) and the fixed noise ε* (bound once) are resident;
 * z_t = √ᾱ·z + √(1−ᾱ)·ε*, v = the guided UNet prediction at z_t, ε̂ = √ᾱ·v + √(1−ᾱ)·z_t (v-prediction to ε),
 * z' = z − λ(1−ᾱ)·(ε̂ − ε*). Per iteration only the timestep and five numbers move in. The graph also flags the
 * first iteration whose z' holds a NaN or ±Inf ({@link NonFiniteWatch}).
 */
record NiVsdsGraph(ImmutableTaskGraph graph) {
    static final String Z = "i4vgen.z", EPS_STAR = "i4vgen.eps_star", ALPHA_SIGMA = "i4vgen.alpha_sigma", UPDATE = "i4vgen.update";
    /** Outputs: the next z; with intermediates also z_t and the guided model output (v). */
    static final String NEXT_Z = "i4vgen.next_z", Z_T = "i4vgen.z_t", MODEL_OUTPUT = "i4vgen.model_output";

    static NiVsdsGraph build(I2VGenXLUNet unet, int[] latentShape, int textLength, boolean guided, float guidance,
                             DType activation, boolean exposeIntermediates) {
        TaskGraph g = new TaskGraph("ni_vsds", activation);
        Value z = g.input(Z, activation, latentShape);
        Value epsStar = g.input(EPS_STAR, activation, latentShape);
        Value alphaSigma = g.input(ALPHA_SIGMA, DType.F32, 2);
        Value update = g.input(UPDATE, DType.F32, 3);
        GuidedI2VGenUNet model = new GuidedI2VGenUNet(g, unet, latentShape, textLength, guided, guidance);
        Value zt = g.linearCombination(alphaSigma, z, epsStar);                   // add_noise(z, ε*, t)
        Value v = model.guide(g, model.unetOutput(g, model.batched(g, zt)));
        Value epsHat = g.linearCombination(alphaSigma, v, zt);
        Value next = g.output(NEXT_Z, g.linearCombination(update, z, epsHat, epsStar));
        NonFiniteWatch.addTo(g, next);
        if (exposeIntermediates) {
            g.output(Z_T, zt);
            g.output(MODEL_OUTPUT, v);
        }
        return new NiVsdsGraph(g.freeze());
    }

    /** The numbers of an iteration at ᾱ_t with step size λ, float32 as torch computes them from the schedule. */
    static Map<String, Tensor> inputs(float alphaCumprod, double stepSize) {
        float alpha = (float) Math.sqrt(alphaCumprod), sigma = (float) Math.sqrt(1.0f - alphaCumprod);
        float weight = (float) stepSize * (1.0f - alphaCumprod);   // λ·(1 − ᾱ): the SDS weight w(t) = 1 − ᾱ_t
        return Map.of(ALPHA_SIGMA, Tensor.fromFloats(new float[]{alpha, sigma}, 2),
                UPDATE, Tensor.fromFloats(new float[]{1f, -weight, weight}, 3));
    }
}
