package dev.i2vgen.model.vae;

import dev.i2vgen.io.config.JsonConfig;

import java.nio.file.Path;

/**
 * diffusers' {@code AutoencoderKLTemporalDecoder} config (Stable Video Diffusion's VAE), defaults for absent keys.
 * The encoder/decoder structure is a {@link VaeConfig} (what the shared encoder reads); this class adds the keys only
 * the temporal VAE's pipeline reads.
 *
 * @param vae         channels, levels, layers_per_block, scaling_factor (no post_quant_conv, 32 groups)
 * @param forceUpcast the pipeline decodes in F32 when the VAE's weights are F16
 * @param sampleSize  the training resolution (informational; the pipeline sizes videos from the UNet's)
 */
public record TemporalVaeConfig(VaeConfig vae, boolean forceUpcast, int sampleSize) {
    public static final String CLASS_NAME = "AutoencoderKLTemporalDecoder";

    public static TemporalVaeConfig load(Path configJson) { return fromJson(JsonConfig.read(configJson)); }

    /** Unknown keys are ignored (diffusers warns and ignores them too); a key of the wrong type is an error. */
    public static TemporalVaeConfig fromJson(JsonConfig c) {
        String cls = c.getString("_class_name", CLASS_NAME);
        if (!cls.equals(CLASS_NAME)) throw c.invalid("_class_name", "is \"" + cls + "\", expected " + CLASS_NAME);
        return new TemporalVaeConfig(VaeConfig.fromTemporalDecoderJson(c), c.getBoolean("force_upcast", true),
                c.getPositiveInt("sample_size", 32));
    }

    public double scalingFactor() { return vae.scalingFactor(); }

    public int latentChannels() { return vae.latentChannels(); }

    /** Pixels per latent along each axis: 2^(levels − 1). */
    public int downsampleFactor() { return vae.downsampleFactor(); }
}
