package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.i2vgen.sampler.scheduler.ArrayErrors.distance;
import static dev.i2vgen.sampler.scheduler.ArrayErrors.norm;
import static dev.i2vgen.sampler.scheduler.ArrayErrors.relativeError;
import static org.junit.jupiter.api.Assertions.*;

/** The Euler scheduler against diffusers' recorded StableVideoDiffusionPipeline runs (spec other-pipelines a.4). */
class EulerDiscreteSchedulerReferenceTest {

    static EulerDiscreteScheduler schedulerOf(ReferenceCase rc) {
        EulerDiscreteConfig config = EulerDiscreteConfig.read(rc.checkpoint().resolve("scheduler/scheduler_config.json"));
        return new EulerDiscreteScheduler(config).setTimesteps(rc.steps());
    }

    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked"})
    void sigmasAndTimestepsMatchDiffusers(String name) {
        try (ReferenceCase rc = ReferenceCase.bundled(name)) {
            EulerDiscreteScheduler s = schedulerOf(rc);
            float[] expected = rc.tensor("sigmas").toFloatArray();
            float[] sigmas = s.sigmas();
            assertEquals(rc.steps() + 1, expected.length, "diffusers' sigmas end with the appended 0");
            assertEquals(expected.length, sigmas.length, "sigma count");
            for (int i = 0; i < sigmas.length; i++) {
                assertEquals(expected[i], sigmas[i], 1e-6 * Math.abs(expected[i]), name + " sigma " + i);
            }
            assertEquals(0f, sigmas[sigmas.length - 1]);
            float[] timesteps = s.timesteps();
            assertEquals(rc.steps(), timesteps.length);
            for (int n = 0; n < rc.steps(); n++) {
                float given = rc.tensor("step." + n + ".timestep").toFloatArray()[0];
                float unet = rc.tensor("unet." + n + ".timestep").toFloatArray()[0];
                assertEquals(given, timesteps[n], 1e-6 * Math.abs(given), name + " step." + n + ".timestep");
                assertEquals(unet, timesteps[n], 1e-6 * Math.abs(unet), name + " unet." + n + ".timestep");
                // continuous timesteps: EDM's c_noise = ¼·ln σ
                assertEquals(0.25 * Math.log(sigmas[n]), timesteps[n], 1e-6 * Math.abs(timesteps[n]), "¼·ln σ at " + n);
            }
        }
    }

    /** Leading spacing: √(σmax² + 1) with σmax = 700; and diffusers' latents are that times its second randn draw. */
    @Test
    void initNoiseSigmaIsDiffusersFormula() {
        try (ReferenceCase rc = ReferenceCase.bundled("svd-tiny")) {
            EulerDiscreteScheduler s = schedulerOf(rc);
            double expected = Math.sqrt(700.0 * 700.0 + 1);
            assertEquals(expected, s.initNoiseSigma(), 1e-6 * expected);
            assertEquals((float) Math.sqrt(s.sigmas()[0] * s.sigmas()[0] + 1f), s.initNoiseSigma());

            // the pipeline draws the noise augmentation (image shape) first, then the latents
            TorchGenerator g = new TorchGenerator(rc.seed());
            g.randn(1, 3, rc.height(), rc.width());
            float[] noise = g.randn(rc.tensor("initial_latents").shape());
            float[] latents = rc.tensor("initial_latents").toFloatArray();
            float[] scaled = new float[noise.length];
            for (int i = 0; i < noise.length; i++) scaled[i] = noise[i] * s.initNoiseSigma();
            assertTrue(relativeError(scaled, latents) <= 1e-6, "initial latents = randn × init_noise_sigma");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked"})
    void everyRecordedStepMatches(String name) {
        try (ReferenceCase rc = ReferenceCase.bundled(name)) {
            EulerDiscreteScheduler s = schedulerOf(rc);
            float[] timesteps = s.timesteps();
            for (int n = 0; n < rc.steps(); n++) {
                String p = "step." + n + ".";
                float[] sample = rc.tensor(p + "sample").toFloatArray();
                float[] modelOutput = rc.tensor(p + "model_output").toFloatArray();
                float[] expected = rc.tensor(p + "prev_sample").toFloatArray();
                float[] scaled = s.scaleModelInput(sample, timesteps[n]);
                assertEquals(n, s.stepIndex().orElseThrow(), "step index before step " + n);
                assertScaledInputMatchesUnetInput(rc, n, scaled);

                EulerStepCoefficients k = s.coefficients(n, EulerChurn.NONE);
                assertFalse(k.needsNoise());
                float[] prev = s.step(modelOutput, timesteps[n], sample, EulerChurn.NONE, null).prevSample();
                double err = relativeError(prev, expected);
                assertTrue(err <= 1e-6, name + " " + p + "prev_sample relative error " + err);
                // the device form rounds once where diffusers rounds five times: they agree to about an ulp of the
                // sample (seen ≤ 0.75), which is far more than prev's ulp where a step cancels most of the sample
                // (σ 700 → 0.002: 9e-5 relative to prev)
                double ulps = distance(k.apply(sample, modelOutput, null), expected) / (0x1p-24 * norm(sample));
                assertTrue(ulps <= 2, name + " " + p + "coefficient form differs by " + ulps + " ulps of the sample");
            }
            assertEquals(rc.steps(), s.stepIndex().orElseThrow());
        }
    }

    /** unet.N.sample is [B, F, 8, h, w]: the scaled latents (channels 0-3 of every batch half) and the image latents. */
    private static void assertScaledInputMatchesUnetInput(ReferenceCase rc, int n, float[] scaled) {
        var unetSample = rc.tensor("unet." + n + ".sample");
        int[] shape = unetSample.shape();
        float[] unet = unetSample.toFloatArray();
        int frames = shape[1], plane = shape[3] * shape[4];
        float[] firstHalf = new float[scaled.length];
        for (int f = 0; f < frames; f++) {
            System.arraycopy(unet, (f * 8) * plane, firstHalf, f * 4 * plane, 4 * plane);
        }
        double err = relativeError(firstHalf, scaled);
        assertTrue(err <= 1e-6, "unet." + n + ".sample scaled latents relative error " + err);
    }
}
