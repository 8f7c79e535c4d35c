package dev.i2vgen.model.vae;

import dev.i2vgen.model.common.JsonConfig;

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
        if (blockOutChannels.length == 0) throw new IllegalArgumentException("VAE config: block_out_channels is empty");
        for (int c : blockOutChannels) {
            if (c % normNumGroups != 0) {
                throw new IllegalArgumentException("VAE config: block_out_channels " + Arrays.toString(blockOutChannels)
                        + " not divisible by norm_num_groups " + normNumGroups);
            }
        }
        if (layersPerBlock < 1) throw new IllegalArgumentException("VAE config: layers_per_block must be >= 1, got " + layersPerBlock);
    }

    public static VaeConfig load(Path configJson) { return fromJson(JsonConfig.read(configJson)); }

    public static VaeConfig fromJson(JsonConfig c) {
        String cls = c.getString("_class_name", "AutoencoderKL");
        if (cls.equals(TemporalVaeConfig.CLASS_NAME)) {
            throw c.invalid("_class_name", "is " + cls + " (Stable Video Diffusion's VAE); load it with TemporalVaeConfig");
        }
        String act = c.getString("act_fn", "silu");
        if (!act.equals("silu") && !act.equals("swish")) throw c.invalid("act_fn", "is \"" + act + "\"; only silu is supported");
        VaeConfig cfg = withSharedKeys(c, c.getInt("norm_num_groups", 32), c.getDoubleOrNull("shift_factor", null),
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
        int[] channels = c.getIntArray("block_out_channels", new int[]{64});
        checkBlockTypes(c, "down_block_types", "DownEncoderBlock2D", channels.length);
        return new VaeConfig(
                c.getInt("in_channels", 3),
                c.getInt("out_channels", 3),
                c.getInt("latent_channels", 4),
                channels,
                c.getInt("layers_per_block", 1),
                normNumGroups,
                c.getDouble("scaling_factor", 0.18215),
                shiftFactor,
                useQuantConv,
                usePostQuantConv,
                midBlockAddAttention);
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
