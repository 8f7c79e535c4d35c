package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.Tensor;

/**
 * The listener as a pipeline calls it: after telling the caller's listener that a stage starts or a step finished, it
 * asks {@link PipelineListener#cancelled()} and stops the run there with a {@link GenerationCancelledException}. The
 * exception leaves through the pipeline's try-with-resources blocks, which close its execution plans.
 */
final class CancellableListener implements PipelineListener {
    private final PipelineListener listener;

    private CancellableListener(PipelineListener listener) { this.listener = listener; }

    /** {@code listener} with the cancellation checks (itself when it is already wrapped). */
    static PipelineListener wrap(PipelineListener listener) {
        return listener instanceof CancellableListener ? listener : new CancellableListener(listener);
    }

    @Override
    public void stage(String name) {
        listener.stage(name);
        if (listener.cancelled()) throw new GenerationCancelledException("cancelled before the '" + name + "' stage");
    }

    @Override
    public void step(int index, int total, double timestep) {
        listener.step(index, total, timestep);
        if (listener.cancelled()) throw new GenerationCancelledException("cancelled after step " + (index + 1) + " of " + total);
    }

    @Override
    public void frame(int index, int total, RgbImage frame) { listener.frame(index, total, frame); }

    @Override
    public void tensor(String name, Tensor value) { listener.tensor(name, value); }

    @Override
    public boolean wantsTensors() { return listener.wantsTensors(); }

    @Override
    public boolean cancelled() { return listener.cancelled(); }
}
