package dev.i2vgen.model.vae;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;

/**
 * The VAE posterior (diffusers' DiagonalGaussianDistribution) as host tensors: mean and logvar
 * (already clamped to [−30, 20]), each [N, latent_channels, h, w].
 */
public record LatentDistribution(Tensor mean, Tensor logvar) {
    public LatentDistribution {
        if (!Arrays.equals(mean.shape(), logvar.shape())) {
            throw new IllegalArgumentException("latent distribution: mean " + Arrays.toString(mean.shape())
                    + " and logvar " + Arrays.toString(logvar.shape()) + " differ");
        }
    }

    /** mean + exp(0.5·logvar)·noise ("latent_dist.sample()" with the caller's standard-normal noise). */
    public Tensor sample(Tensor noise) {
        if (!Arrays.equals(noise.shape(), mean.shape())) {
            throw new IllegalArgumentException("latent sample: noise must have shape " + Arrays.toString(mean.shape())
                    + ", got " + Arrays.toString(noise.shape()));
        }
        float[] m = mean.toFloatArray(), lv = logvar.toFloatArray(), e = noise.toFloatArray();
        float[] out = new float[m.length];
        for (int i = 0; i < out.length; i++) out[i] = m[i] + (float) Math.exp(0.5f * lv[i]) * e[i];
        return Tensor.fromFloats(out, mean.shape());
    }

    /** The deterministic variant ("mode()"): the mean. */
    public Tensor mode() { return mean.to(DType.F32); }
}
