package dev.i2vgen.model.unet;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Compiles one {@link UNetStepGraph} once on a caller-supplied backend and runs it per denoising step.
 * Weights stay resident on the backend between calls; only the six inputs move in and the output out.
 */
public final class UNetRunner implements AutoCloseable {
    private final UNetStepGraph step;
    private final ExecutionPlan plan;

    public UNetRunner(UNetStepGraph step, Backend backend) {
        this.step = step;
        this.plan = backend.compile(step.graph());
    }

    public UNetStepGraph step() { return step; }

    /** Runs one UNet call and returns the prediction [B, out, F, h, w] (F32). */
    public Tensor run(UNetInputs in) {
        plan.executeByName(checkedInputs(in));
        return plan.read(I2VGenXLUNet.OUT);
    }

    /**
     * Uploads the six inputs once and keeps them on the backend: later {@link #runResident()} calls reuse them,
     * as the denoising loop does (its inputs stay on the device between steps).
     */
    public void bindResident(UNetInputs in) {
        checkedInputs(in).forEach(plan::bind);
    }

    /** Runs one UNet call on the inputs of {@link #bindResident}; the prediction stays on the backend. */
    public void runResident() {
        plan.execute();
    }

    private Map<String, Tensor> checkedInputs(UNetInputs in) {
        UNetShape s = step.shape();
        Map<String, Tensor> bind = new HashMap<>();
        bind.put(I2VGenXLUNet.SAMPLE, check(I2VGenXLUNet.SAMPLE, in.sample()));
        bind.put(I2VGenXLUNet.TIMESTEP, perVideo(I2VGenXLUNet.TIMESTEP, in.timestep(), s.batch()));
        bind.put(I2VGenXLUNet.ENCODER_HIDDEN_STATES, check(I2VGenXLUNet.ENCODER_HIDDEN_STATES, in.encoderHiddenStates()));
        bind.put(I2VGenXLUNet.FPS, perVideo(I2VGenXLUNet.FPS, in.fps(), s.batch()));
        bind.put(I2VGenXLUNet.IMAGE_LATENTS, check(I2VGenXLUNet.IMAGE_LATENTS, in.imageLatents()));
        bind.put(I2VGenXLUNet.IMAGE_EMBEDDINGS, check(I2VGenXLUNet.IMAGE_EMBEDDINGS, in.imageEmbeddings()));
        return bind;
    }

    /** A recorded module output of the last run ("down_blocks.0"); the graph must record modules. */
    public Tensor module(String name) {
        if (!step.recordsModules()) throw new IllegalStateException("this UNet graph was built without module recording");
        return plan.read(I2VGenXLUNet.MODULE_PREFIX + name);
    }

    private Tensor check(String name, Tensor t) {
        int[] expected = step.graph().input(name).shape();
        if (!Arrays.equals(t.shape(), expected)) {
            throw new IllegalArgumentException("UNet input '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", the compiled graph expects " + Arrays.toString(expected));
        }
        return t;
    }

    /** diffusers expands a scalar / one-element timestep (and fps) to the batch. */
    private static Tensor perVideo(String name, Tensor t, int batch) {
        if (t.numel() == batch) return t.rank() == 1 ? t : t.reshape(batch);
        if (t.numel() == 1) {
            float[] v = new float[batch];
            Arrays.fill(v, t.getFlat(0));
            return Tensor.fromFloats(v, batch);
        }
        throw new IllegalArgumentException("UNet input '" + name + "' must have 1 or " + batch + " elements, got shape " + Arrays.toString(t.shape()));
    }

    @Override
    public void close() { plan.close(); }
}
