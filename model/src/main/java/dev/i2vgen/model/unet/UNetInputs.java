package dev.i2vgen.model.unet;

import dev.i2vgen.tensor.Tensor;

/**
 * Host tensors for one UNet call, shaped as diffusers passes them: sample and imageLatents
 * [B, in, F, h, w], timestep [1] or [B], encoderHiddenStates [B, L, D], fps [1] or [B],
 * imageEmbeddings [B, 1, D].
 */
public record UNetInputs(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, Tensor fps,
                         Tensor imageLatents, Tensor imageEmbeddings) {

    /** A scalar timestep, e.g. from the scheduler. */
    public static Tensor scalar(float v) { return Tensor.fromFloats(new float[]{v}, 1); }
}
