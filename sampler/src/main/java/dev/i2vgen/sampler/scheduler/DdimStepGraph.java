package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DDIM's step as the graph op {@link dev.i2vgen.graph.ops.DdimStep} (x0 and ε from the prediction type, clip_sample,
 * the update, η-noise), fed per step with the 7 numbers of {@link DdimStep#coefficients()} and, for η &gt; 0, the
 * η-noise diffusers draws on every step.
 */
final class DdimStepGraph implements StepGraph {
    static final String COEFFICIENTS = "ddim.coefficients", NOISE = "ddim.eta_noise";

    private final DdimScheduler scheduler;
    private final float eta;
    private final int[] shape;
    private final Value coefficients, noise;

    DdimStepGraph(TaskGraph g, DdimScheduler scheduler, double eta, int... shape) {
        if (scheduler.config().thresholding()) throw new UnsupportedOperationException("DDIMScheduler with thresholding"
                + " = true has no step graph (dynamic thresholding takes a quantile per batch item): it steps on the host");
        if (!(eta >= 0)) throw new IllegalArgumentException("eta must be ≥ 0, got " + eta);
        this.scheduler = scheduler;
        this.eta = (float) eta;
        this.shape = shape.clone();
        this.coefficients = g.input(COEFFICIENTS, DType.F32, 7);
        this.noise = eta > 0 ? g.input(NOISE, DType.F32, shape) : null;
    }

    @Override
    public Value scaleModelInput(TaskGraph g, Value x) { return x; }

    @Override
    public Value scaleModelInputApart(TaskGraph g, Value x) { return x; }

    @Override
    public Value step(TaskGraph g, Value x, Value m) { return g.ddimStep(x, m, coefficients, noise); }

    @Override
    public Map<String, Tensor> inputs(int stepIndex, TorchGenerator generator) {
        int t = scheduler.timesteps()[stepIndex];
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put(COEFFICIENTS, Tensor.fromFloats(DdimStep.coefficients(scheduler, t, eta), 7));
        if (noise != null) {
            if (generator == null) throw new IllegalArgumentException("DDIMScheduler with eta > 0 draws noise every step: pass a generator");
            in.put(NOISE, generator.randnTensor(shape));   // one flat randn of the sample's shape, as DDIMScheduler.step
        }
        return in;
    }
}
