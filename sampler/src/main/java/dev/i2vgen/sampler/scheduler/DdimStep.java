package dev.i2vgen.sampler.scheduler;

/**
 * The scalars of one DDIM step, in the layout of the graph op {@link dev.i2vgen.graph.ops.DdimStep}, so that a
 * frozen graph (any backend) runs the same update as {@link DdimScheduler#step}: feed {@link #coefficients()}
 * as its F32[7] input each step.
 */
public record DdimStep(int timestep, int prevTimestep, float sqrtAlphaProd, float sqrtBetaProd,
                       float sqrtAlphaProdPrev, float directionScale, float stdDev, float eta,
                       PredictionType predictionType, float clipRange) {

    /** The 7 coefficients for the scheduler's step from {@code timestep} with noise weight {@code eta}. */
    public static float[] coefficients(DdimScheduler scheduler, int timestep, float eta) {
        return of(scheduler, timestep, eta).coefficients();
    }

    /**
     * The step's scalars (clip_sample becomes the op's clip range; like diffusers' default step, the op keeps
     * the unclipped ε). Refuses dynamic thresholding, which the op cannot express.
     */
    public static DdimStep of(DdimScheduler scheduler, int timestep, float eta) {
        DdimConfig c = scheduler.config();
        if (c.thresholding()) throw new UnsupportedOperationException("the DdimStep graph op has no dynamic"
                + " thresholding: run DdimScheduler.step on the CPU for thresholding=true");
        int prev = scheduler.prevTimestep(timestep);
        float aT = scheduler.alphaCumprod(timestep);
        float aPrev = scheduler.alphaCumprodPrev(prev);
        float std = scheduler.stdDev(timestep, eta);
        return new DdimStep(timestep, prev, (float) Math.sqrt(aT), (float) Math.sqrt(1.0f - aT), (float) Math.sqrt(aPrev),
                (float) Math.sqrt(1.0f - aPrev - std * std), std, eta, c.predictionType(), c.clipSample() ? (float) c.clipSampleRange() : 0.0f);
    }

    /** {√ᾱ_t, √(1−ᾱ_t), √ᾱ_prev, √(1−ᾱ_prev−σ²), σ, predictionType, clipRange (≤ 0: none)}. */
    public float[] coefficients() {
        return new float[]{sqrtAlphaProd, sqrtBetaProd, sqrtAlphaProdPrev, directionScale, stdDev,
                predictionType.graphCode(), clipRange};
    }

    /**
     * Whether this step draws η-noise: diffusers draws it whenever η &gt; 0, even where σ = 0 (the last step),
     * so the generator stream advances the same way.
     */
    public boolean needsNoise() { return eta > 0; }
}
