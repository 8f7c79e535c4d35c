package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The {@link Scheduler} interface as EulerAncestralDiscreteScheduler, DDPMScheduler, LCMScheduler and the view
 * {@link EulerDiscreteScheduler#asScheduler()} implement it: a sampling loop by step index gives exactly what the same
 * loop through each scheduler's diffusers-style timestep API gives.
 */
class EulerAncestralDdpmLcmSchedulerInterfaceTest {
    static final int N = 24;
    static final int STEPS = 6;

    /** A stand-in denoiser: a fixed function of the input and the step. */
    static float[] model(float[] x, int step) {
        float[] out = new float[x.length];
        for (int k = 0; k < x.length; k++) out[k] = 0.3f * x[k] - 0.01f * step * k;
        return out;
    }

    /** The loop a pipeline runs against the interface. */
    static float[] sample(Scheduler s, long seed) {
        s.setTimesteps(STEPS);
        TorchGenerator g = new TorchGenerator(seed);
        float[] x = g.randn(N);
        for (int k = 0; k < N; k++) x[k] *= s.initNoiseSigma();
        for (int i = 0; i < s.timesteps().length; i++) {
            float[] modelOutput = model(s.scaleModelInput(x, i), i);
            x = s.step(modelOutput, i, x, g);
        }
        return x;
    }

    /** The same loop through a diffusers-style API: {@code timestepStep(x, i, t, generator)} returns the next sample. */
    interface TimestepLoop {
        float[] step(float[] x, int i, float t, TorchGenerator g);
    }

    static float[] sampleByTimestep(float[] timesteps, float initNoiseSigma, TimestepLoop loop, long seed) {
        TorchGenerator g = new TorchGenerator(seed);
        float[] x = g.randn(N);
        for (int k = 0; k < N; k++) x[k] *= initNoiseSigma;
        for (int i = 0; i < timesteps.length; i++) x = loop.step(x, i, timesteps[i], g);
        return x;
    }

    @Test
    void eulerAncestral() {
        Supplier<EulerAncestralDiscreteScheduler> make = () -> new EulerAncestralDiscreteScheduler(
                EulerAncestralDiscreteConfig.defaults()).setTimesteps(STEPS);
        EulerAncestralDiscreteScheduler byTimestep = make.get();
        float[] expected = sampleByTimestep(byTimestep.timesteps(), byTimestep.initNoiseSigma(), (x, i, t, g) ->
                byTimestep.stepAtTimestep(model(byTimestep.scaleModelInputAtTimestep(x, t), i), t, x, g).prevSample(), 7);
        Scheduler s = make.get();
        assertEquals("EulerAncestralDiscreteScheduler", s.className());
        assertArrayEquals(expected, sample(s, 7));
    }

    @Test
    void ddpm() {
        Supplier<DdpmScheduler> make = () -> new DdpmScheduler(DdpmConfig.defaults()).setTimesteps(STEPS);
        DdpmScheduler byTimestep = make.get();
        float[] expected = sampleByTimestep(byTimestep.timesteps(), 1f, (x, i, t, g) ->
                byTimestep.stepAtTimestep(model(x, i), (int) t, x, new int[]{1, N}, g).prevSample(), 8);
        Scheduler s = make.get();
        assertEquals("DDPMScheduler", s.className());
        assertArrayEquals(expected, sample(s, 8));
    }

    @Test
    void lcm() {
        Supplier<LcmScheduler> make = () -> new LcmScheduler(LcmConfig.defaults()).setTimesteps(STEPS);
        LcmScheduler byTimestep = make.get();
        float[] expected = sampleByTimestep(byTimestep.timesteps(), 1f, (x, i, t, g) ->
                byTimestep.stepAtTimestep(model(x, i), (int) t, x, new int[]{1, N}, g).prevSample(), 9);
        Scheduler s = make.get();
        assertEquals("LCMScheduler", s.className());
        assertArrayEquals(expected, sample(s, 9));
    }

    @Test
    void eulerDiscreteView() {
        Supplier<EulerDiscreteScheduler> make = () -> new EulerDiscreteScheduler(EulerDiscreteConfig.defaults()).setTimesteps(STEPS);
        EulerDiscreteScheduler byTimestep = make.get();
        float[] expected = sampleByTimestep(byTimestep.timesteps(), byTimestep.initNoiseSigma(), (x, i, t, g) ->
                byTimestep.step(model(byTimestep.scaleModelInput(x, t), i), t, x, EulerChurn.NONE, g).prevSample(), 10);
        EulerDiscreteScheduler euler = make.get();
        Scheduler s = euler.asScheduler();
        assertEquals("EulerDiscreteScheduler", s.className());
        assertArrayEquals(expected, sample(s, 10));
        assertEquals(STEPS, euler.stepIndex().orElseThrow(), "the view shares the scheduler's state");
    }

    /**
     * The int-index form lives on the view: on the class itself an int argument still means diffusers' timestep
     * ({@code scaleModelInput(x, 999)} is the step at t = 999), through the interface it is a step index.
     */
    @Test
    void eulerDiscreteIntIndexForm() {
        EulerDiscreteScheduler euler = new EulerDiscreteScheduler(EulerDiscreteConfig.defaults()).setTimesteps(4);
        float[] t = euler.timesteps();
        assertEquals(999f, t[0]);
        float[] x = new TorchGenerator(1).randn(N);
        float[] atTimestep999 = euler.scaleModelInput(x, 999);
        assertEquals(0, euler.stepIndex().orElseThrow(), "999 was read as a timestep: index 0");
        assertThrows(IllegalArgumentException.class, () -> new EulerDiscreteScheduler(EulerDiscreteConfig.defaults())
                .setTimesteps(4).scaleModelInput(x, 2), "2 is a timestep, and not one of the schedule");

        Scheduler view = new EulerDiscreteScheduler(EulerDiscreteConfig.defaults()).asScheduler().setTimesteps(4);
        assertArrayEquals(atTimestep999, view.scaleModelInput(x, 0), "index 0 is t = 999");
        EulerDiscreteScheduler reference = new EulerDiscreteScheduler(EulerDiscreteConfig.defaults()).setTimesteps(4);
        assertArrayEquals(reference.scaleModelInput(x, t[2]), view.scaleModelInput(x, 2), "index 2 is t = timesteps[2]");
        assertThrows(IllegalArgumentException.class, () -> view.scaleModelInput(x, 4), "no index 4 in a 4-step schedule");
    }

    @Test
    void noScalingWhereDiffusersDoesNot() {
        float[] x = new TorchGenerator(2).randn(N);
        for (Scheduler s : new Scheduler[]{new DdpmScheduler(DdpmConfig.defaults()).setTimesteps(3),
                new LcmScheduler(LcmConfig.defaults()).setTimesteps(3)}) {
            assertEquals(1f, s.initNoiseSigma(), s.className());
            float[] scaled = s.scaleModelInput(x, 1);
            assertArrayEquals(x, scaled, s.className());
            assertNotSame(x, scaled, "a copy");
        }
    }
}
