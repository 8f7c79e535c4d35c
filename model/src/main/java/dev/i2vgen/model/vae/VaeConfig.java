package dev.i2vgen.model.vae;

import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.io.config.JsonConfig;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * diffusers' {@code AutoencoderKL} config with its defaults for absent keys. Only the block types
 * this VAE family uses are accepted (DownEncoderBlock2D / UpDecoderBlock2D, SiLU).
 */
public record VaeConfig(int inChannels, int outChannels, int latentChannels, int[] blockOutChannels,
                        int layersPerBlock, int normNumGroups, double scalingFactor, Double shiftFactor,
                        boolean useQuantConv, boolean usePostQuantConv, boolean midBlockAddAttention) {

    /** diffusers hard-codes this for every GroupNorm of the VAE. */
    public static final float NORM_EPS = 1e-6f;

    public VaeConfig {
        blockOutChannels = blockOutChannels.clone();
        require(blockOutChannels.length > 0, "block_out_channels", "must not be empty");
        require(inChannels > 0, "in_channels", "must be positive, got " + inChannels);
        require(outChannels > 0, "out_channels", "must be positive, got " + outChannels);
        require(latentChannels > 0, "latent_channels", "must be positive, got " + latentChannels);
        require(layersPerBlock > 0, "layers_per_block", "must be positive, got " + layersPerBlock);
        // Checked before the divisibility check below, which divides by it.
        require(normNumGroups > 0, "norm_num_groups", "must be positive, got " + normNumGroups);
        for (int i = 0; i < blockOutChannels.length; i++) {
            require(blockOutChannels[i] > 0, "block_out_channels", "[" + i + "] must be positive, got " + blockOutChannels[i]);
            require(blockOutChannels[i] % normNumGroups == 0, "block_out_channels",
                    "[" + i + "] = " + blockOutChannels[i] + " is not divisible by the " + normNumGroups + " GroupNorm groups (norm_num_groups)");
        }
        // Latents are divided by it; diffusers' configs hold 0.18215, 0.13025 and the like.
        require(Double.isFinite(scalingFactor) && scalingFactor > 0, "scaling_factor", "must be a positive number, got " + scalingFactor);
        require(shiftFactor == null || Double.isFinite(shiftFactor), "shift_factor", "must be a finite number, got " + shiftFactor);
    }

    public static VaeConfig load(Path configJson) { return fromJson(JsonConfig.read(configJson)); }

    public static VaeConfig fromJson(JsonConfig c) {
        String cls = c.getString("_class_name", "AutoencoderKL");
        if (cls.equals(TemporalVaeConfig.CLASS_NAME)) {
            throw c.invalid("_class_name", "is " + cls + " (Stable Video Diffusion's VAE); load it with TemporalVaeConfig");
        }
        String act = c.getString("act_fn", "silu");
        if (!act.equals("silu") && !act.equals("swish")) throw c.invalid("act_fn", "is \"" + act + "\"; only silu is supported");
        VaeConfig cfg = withSharedKeys(c, c.getPositiveInt("norm_num_groups", 32), c.getDoubleOrNull("shift_factor", null),
                c.getBoolean("use_quant_conv", true), c.getBoolean("use_post_quant_conv", true),
                c.getBoolean("mid_block_add_attention", true));
        checkBlockTypes(c, "up_block_types", "UpDecoderBlock2D", cfg.blockOutChannels.length);
        return cfg;
    }

    /**
     * The structure of an {@code AutoencoderKLTemporalDecoder} config (read by {@link TemporalVaeConfig}): that class
     * takes only the shared keys and diffusers fixes the rest (32 groups, SiLU, quant_conv, no post_quant_conv, the
     * encoder's mid-block attention, no shift).
     */
    static VaeConfig fromTemporalDecoderJson(JsonConfig c) {
        return withSharedKeys(c, 32, null, true, false, true);
    }

    /** Reads the keys both VAE classes take; the others come from the caller. */
    private static VaeConfig withSharedKeys(JsonConfig c, int normNumGroups, Double shiftFactor, boolean useQuantConv,
                                             boolean usePostQuantConv, boolean midBlockAddAttention) {
        int[] channels = c.getPositiveIntArray("block_out_channels", new int[]{64});
        checkBlockTypes(c, "down_block_types", "DownEncoderBlock2D", channels.length);
        int in = c.getPositiveInt("in_channels", 3), out = c.getPositiveInt("out_channels", 3);
        int latent = c.getPositiveInt("latent_channels", 4), layers = c.getPositiveInt("layers_per_block", 1);
        double scaling = c.getPositiveDouble("scaling_factor", 0.18215);
        return c.build(() -> new VaeConfig(in, out, latent, channels, layers, normNumGroups, scaling, shiftFactor,
                useQuantConv, usePostQuantConv, midBlockAddAttention));
    }

    private static void checkBlockTypes(JsonConfig c, String key, String expected, int levels) {
        String[] dflt = new String[levels];
        Arrays.fill(dflt, expected);
        String[] types = c.getStringArray(key, dflt);
        if (types.length != levels) {
            throw c.invalid(key, "has " + types.length + " entries but block_out_channels has " + levels);
        }
        for (String t : types) if (!t.equals(expected)) throw c.invalid(key, "contains \"" + t + "\"; only " + expected + " is supported");
    }

    /** Pixels per latent along each axis: 2^(levels − 1). */
    public int downsampleFactor() { return 1 << (blockOutChannels.length - 1); }

    @Override public int[] blockOutChannels() { return blockOutChannels.clone(); }

    private static void require(boolean ok, String key, String message) { ConfigProblem.require(ok, key, message); }

    @Override public boolean equals(Object o) {
        return o instanceof VaeConfig v && inChannels == v.inChannels && outChannels == v.outChannels
                && latentChannels == v.latentChannels && Arrays.equals(blockOutChannels, v.blockOutChannels)
                && layersPerBlock == v.layersPerBlock && normNumGroups == v.normNumGroups
                && scalingFactor == v.scalingFactor && java.util.Objects.equals(shiftFactor, v.shiftFactor)
                && useQuantConv == v.useQuantConv && usePostQuantConv == v.usePostQuantConv
                && midBlockAddAttention == v.midBlockAddAttention;
    }

    @Override public int hashCode() { return Arrays.hashCode(blockOutChannels) * 31 + Double.hashCode(scalingFactor); }

    @Override public String toString() {
        return "VaeConfig[channels " + Arrays.toString(blockOutChannels) + ", layers_per_block " + layersPerBlock
                + ", groups " + normNumGroups + ", latent " + latentChannels + ", scaling_factor " + scalingFactor + "]";
    }
}
