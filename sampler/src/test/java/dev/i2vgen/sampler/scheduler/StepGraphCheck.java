package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks a scheduler's {@link StepGraph} against its host {@link Scheduler#step}: a whole run of random model outputs
 * (a fresh normal draw per step, never zeros) from random initial latents, the graph in float32 on the JVM backend
 * with its state carried on the device, the host scheduler stepping the same values with a generator of the same seed.
 * The host ports are checked against diffusers' own outputs elsewhere: this proves the device form equals them.
 */
final class StepGraphCheck {
    static final String X = "x", M = "m", SCALED = "scaled", NEXT = "next";

    private StepGraphCheck() {}

    /**
     * Runs {@code steps} steps of two schedulers from {@code make} (one on the host, one as a step graph) and asserts
     * that the scaled model input and the next sample agree at every step within {@code tolerance}, relative to the
     * largest magnitude of the host's result. Returns the largest error seen.
     */
    static double assertMatchesHost(String what, Supplier<Scheduler> make, int steps, double eta, double tolerance, int... shape) {
        Scheduler host = make.get().setTimesteps(steps), device = make.get().setTimesteps(steps);
        int n = 1;
        for (int d : shape) n *= d;
        TaskGraph g = new TaskGraph("step_graph_check", DType.F32);
        Value x = g.input(X, DType.F32, shape), m = g.input(M, DType.F32, shape);
        StepGraph sg = device.stepGraph(g, eta, shape);
        g.output(SCALED, sg.scaleModelInput(g, x));
        g.output(NEXT, sg.step(g, x, m));
        TorchGenerator data = new TorchGenerator(1234), hostNoise = new TorchGenerator(99), deviceNoise = new TorchGenerator(99);
        float[] sample = data.randn(n);
        float sigma = host.initNoiseSigma();
        for (int i = 0; i < n; i++) sample[i] *= sigma;
        double worst = 0;
        int count = host.timesteps().length;
        try (Backend backend = Backends.create("jvm"); ExecutionPlan plan = backend.compile(g.freeze())) {
            plan.bind(X, Tensor.fromFloats(sample, shape));
            sg.initialState().forEach(plan::bind);
            for (int i = 0; i < count; i++) {
                float[] modelOutput = data.randn(n);
                Map<Value, Tensor> in = new HashMap<>();
                in.put(plan.graph().input(M), Tensor.fromFloats(modelOutput, shape));
                sg.inputs(i, deviceNoise).forEach((k, v) -> in.put(plan.graph().input(k), v));
                plan.execute(in);
                float[] scaled = host.scaleModelInput(sample, i);
                float[] next = host.step(modelOutput, i, sample, shape, eta, hostNoise);
                worst = Math.max(worst, check(what + ": scale_model_input at step " + i, plan.read(SCALED).toFloatArray(), scaled, tolerance));
                worst = Math.max(worst, check(what + ": step " + i + " of " + count, plan.read(NEXT).toFloatArray(), next, tolerance));
                plan.copy(NEXT, X);
                sg.afterStep(plan, i);
                sample = next;
            }
        }
        return worst;
    }

    private static double check(String what, float[] actual, float[] expected, double tolerance) {
        double scale = 0, err = 0;
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(actual[i]), what + ": non-finite value at " + i);
            scale = Math.max(scale, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(actual[i] - expected[i]));
        }
        double rel = err / Math.max(scale, 1e-30);
        assertTrue(rel <= tolerance, what + ": device differs from host by " + rel + " (relative to max |host| "
                + scale + "), tolerance " + tolerance);
        return rel;
    }
}
