package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.model.unet.UNetInputs;
import dev.i2vgen.model.unet.UNetRunner;
import dev.i2vgen.model.unet.UNetShape;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.sampler.scheduler.Scheduler;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

/**
 * I2VGen-XL's denoising loop for the configurations the step graph cannot express (dynamic thresholding): the UNet on
 * the backend, guidance and the scheduler's step on the host. Its UNet plan is built here, when the loop starts (no
 * plan built ahead: {@link PlansAhead}).
 */
final class HostSteppedDenoise {
    private HostSteppedDenoise() {}

    /**
     * @param first the schedule index to start at (I4VGen's regeneration; 0 otherwise)
     * @param done  steps reported before this loop, for the listener's progress
     */
    static Tensor run(I2VGenXLUNet unet, Backend backend, DType activation, GenerationRequest req, Scheduler scheduler,
                      TorchGenerator generator, Tensor latents, I2VGenConditioning cond, int first, int done, PipelineListener listener) {
        boolean cfg = req.classifierFreeGuidance();
        int b = latents.dim(0), c = latents.dim(1), f = latents.dim(2), h = latents.dim(3), w = latents.dim(4);
        UNetShape shape = new UNetShape(cfg ? 2 * b : b, f, h, w, cond.textLength());
        float[] timesteps = scheduler.timesteps();
        try (UNetRunner runner = new UNetRunner(unet.buildGraph(shape, activation, false), backend)) {
            for (int i = first; i < timesteps.length; i++) {
                float t = timesteps[i];
                Tensor doubled = cfg ? HostTensors.concatBatch(latents, latents) : latents;
                Tensor input = Tensor.fromFloats(scheduler.scaleModelInput(doubled.toFloatArray(), i), doubled.shape());
                UNetInputs in = new UNetInputs(input, UNetInputs.scalar(t), cond.text(), cond.fps(), cond.imageLatents(),
                        cond.imageEmbeddings());
                emit(listener, "unet." + i + ".sample", input);
                Tensor out = runner.run(in);
                emit(listener, "unet." + i + ".out", out);
                Tensor guided = cfg ? guide(out, (float) req.guidance()) : out;
                float[] m = HostTensors.framesToBatch(guided);
                float[] x = HostTensors.framesToBatch(latents);
                int[] frameBatch = {b * f, c, h, w};
                float[] prev = scheduler.step(m, i, x, frameBatch, req.eta(), generator);
                if (!NonFiniteWatch.allFinite(prev)) throw new NonFiniteValuesException("denoise", "the latents", i + 1, timesteps.length, t,
                        NonFiniteHints.denoising(activation, "--guidance", req.guidance(), cfg));
                if (listener.wantsTensors()) {
                    emit(listener, "step." + i + ".model_output", Tensor.fromFloats(m, frameBatch));
                    emit(listener, "step." + i + ".sample", Tensor.fromFloats(x, frameBatch));
                    emit(listener, "step." + i + ".prev_sample", Tensor.fromFloats(prev, frameBatch));
                }
                latents = HostTensors.batchToFrames(prev, b, c, f, h, w);
                listener.step(done + i - first, done + timesteps.length - first, t);
            }
        }
        return latents;
    }

    /** u + g·(c − u) over the two batch halves (guidance in the model's prediction space). */
    private static Tensor guide(Tensor out, float g) {
        int half = out.dim(0) / 2;
        float[] v = out.toFloatArray();
        int n = v.length / 2;
        float[] r = new float[n];
        for (int i = 0; i < n; i++) r[i] = v[i] + g * (v[n + i] - v[i]);
        int[] s = out.shape();
        s[0] = half;
        return Tensor.fromFloats(r, s);
    }

    private static void emit(PipelineListener l, String name, Tensor t) {
        if (l.wantsTensors()) l.tensor(name, t);
    }
}
