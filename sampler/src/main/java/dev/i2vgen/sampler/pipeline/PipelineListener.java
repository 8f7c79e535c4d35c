package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.Tensor;

/**
 * Observes a generation: stages, denoising steps (for progress bars) and, for checks against
 * PyTorch, every intermediate tensor under the name the diffusers reference cases use
 * ("prompt_embeds", "image_latents", "unet.N.out", "step.N.prev_sample", "decode.video", ...).
 * A listener can also stop a run: see {@link #cancelled()}.
 */
public interface PipelineListener {
    PipelineListener NONE = new PipelineListener() {};

    /** A stage starts: "encode prompt", "encode image", "denoise", "decode". */
    default void stage(String name) {}

    /** Denoising step {@code index} (0-based) of {@code total} finished; {@code timestep} is what the model received (I2VGen-XL: an integer, SVD: 0.25·ln σ). */
    default void step(int index, int total, double timestep) {}

    /**
     * Frame {@code index} of the {@code total} of the video is final: the 8-bit frame {@link GeneratedVideo#frames()}
     * will hold, told in order as the VAE decodes them, so that the video can be encoded while the rest decodes.
     * Called on the generating thread between decode chunks (hand long work to a thread of its own); not for I4VGen's
     * intermediate video.
     */
    default void frame(int index, int total, RgbImage frame) {}

    /** An intermediate tensor (host copy). Called only when {@link #wantsTensors()} is true. */
    default void tensor(String name, Tensor value) {}

    /** Whether {@link #tensor} should be called (costs host copies on GPU backends). */
    default boolean wantsTensors() { return false; }

    /**
     * Asked after {@link #stage} and after {@link #step}: true stops the run there with a
     * {@link GenerationCancelledException} (the next step never starts; the plans built so far are closed, releasing
     * their device memory). Called on the generating thread, so a flag set by another thread must be volatile.
     */
    default boolean cancelled() { return false; }
}
