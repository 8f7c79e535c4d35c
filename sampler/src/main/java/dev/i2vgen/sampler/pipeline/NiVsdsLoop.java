package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.sampler.scheduler.DdimScheduler;
import dev.i2vgen.sampler.scheduler.Scheduler;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;

/**
 * I4VGen's NI-VSDS phase on the backend ({@link NiVsdsGraph} per iteration, z and ε* resident) and the step into
 * regeneration: the NI-VSDS result noised to the regeneration's first timestep with fresh noise, as DDIM's
 * {@code add_noise}. The pipeline's own conditioning and denoising loop do the rest.
 */
final class NiVsdsLoop {
    private NiVsdsLoop() {}

    /** I4VGen is defined on DDIM (ᾱ_t and add_noise of its schedule): the run's scheduler must be DDIMScheduler. */
    static DdimScheduler requireDdim(Scheduler scheduler) {
        return DdimScheduler.behind(scheduler).orElseThrow(() -> new IllegalArgumentException("I4VGen runs with"
                + " DDIMScheduler (its NI-VSDS uses DDIM's ᾱ_t and add_noise), not " + scheduler.className()
                + ": leave the scheduler to the checkpoint's or choose DDIMScheduler"));
    }

    /**
     * τ NI-VSDS iterations from the static video; returns z¹ [1, C, F, h, w]. Reports iteration i as step i of
     * {@code totalSteps} (NI-VSDS and regeneration together).
     */
    static Tensor run(Backend backend, I2VGenXLUNet unet, DType activation, DdimScheduler ddim, I4VGenOptions options,
                      float guidance, boolean guided, I2VGenConditioning cond, Tensor epsStar, PipelineListener listener,
                      int totalSteps) {
        boolean wants = listener.wantsTensors();
        Tensor staticVideo = cond.staticVideo();
        emit(listener, "i4vgen.static_video", staticVideo);
        int[] timesteps = ddim.timesteps();
        int iterations = options.iterations(timesteps.length);
        NiVsdsGraph graph = NiVsdsGraph.build(unet, staticVideo.shape(), cond.textLength(), guided, guidance, activation, wants);
        try (ExecutionPlan plan = backend.compile(graph.graph())) {
            cond.bindTo(plan);
            plan.bind(NiVsdsGraph.Z, staticVideo);
            plan.bind(NiVsdsGraph.EPS_STAR, epsStar);
            NonFiniteWatch watch = new NonFiniteWatch(plan, "ni-vsds", "the video latents", iterations, i -> timesteps[i],
                    NonFiniteHints.denoising(activation, "--guidance", guidance, guided));
            var g = graph.graph();
            for (int i = 0; i < iterations; i++) {
                int t = timesteps[i];
                Map<Value, Tensor> in = new HashMap<>();
                in.put(g.input(I2VGenXLUNet.TIMESTEP), HostTensors.filled(cond.batch(), t));
                NiVsdsGraph.inputs(ddim.alphaCumprod(t), options.stepSize(i)).forEach((k, v) -> in.put(g.input(k), v));
                watch.step(in, i);
                plan.execute(in);
                if (wants) {
                    emit(listener, "i4vgen.ni_vsds." + i + ".z_t", plan.read(NiVsdsGraph.Z_T));
                    emit(listener, "i4vgen.ni_vsds." + i + ".model_output", plan.read(NiVsdsGraph.MODEL_OUTPUT));
                    emit(listener, "i4vgen.ni_vsds." + i + ".z", plan.read(NiVsdsGraph.NEXT_Z));
                    watch.check();
                }
                plan.copy(NiVsdsGraph.NEXT_Z, NiVsdsGraph.Z);
                watch.carry();
                listener.step(i, totalSteps, t);
            }
            watch.check();
            Tensor z = plan.read(NiVsdsGraph.NEXT_Z);
            emit(listener, "i4vgen.ni_vsds.result", z);
            return z;
        }
    }

    /** add_noise(z, noise, timesteps[start]) in float32 as DDIM computes it: the regeneration's first latents. */
    static Tensor regenerationLatents(DdimScheduler ddim, Tensor z, Tensor noise, int start) {
        return Tensor.fromFloats(ddim.addNoise(z.toFloatArray(), noise.toFloatArray(), ddim.timesteps()[start]), z.shape());
    }

    private static void emit(PipelineListener l, String name, Tensor t) {
        if (l.wantsTensors()) l.tensor(name, t);
    }
}
