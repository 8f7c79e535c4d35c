package dev.i2vgen.model.unet;

import com.fasterxml.jackson.databind.JsonNode;
import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.io.config.JsonConfig;

import java.nio.file.Path;
import java.util.List;

/**
 * The parts of diffusers' {@code unet/config.json} that shape an I2VGen-XL UNet.
 *
 * <p>{@code attention_head_dim} is the per-head width of every block transformer (diffusers sets
 * {@code num_attention_heads := attention_head_dim} and passes it on as the head dimension, so a
 * transformer of width C has C / headDim heads); the config key {@code num_attention_heads} is ignored.
 * It may be one number or one per down block (the mid block takes the last, up blocks the reversed list).
 */
public record UNetConfig(int inChannels, int outChannels, int[] blockOutChannels, int layersPerBlock,
                         int[] attentionHeadDims, int crossAttentionDim, int normNumGroups,
                         List<String> downBlockTypes, List<String> upBlockTypes) {

    public static final String CROSS_ATTN_DOWN = "CrossAttnDownBlock3D";
    public static final String DOWN = "DownBlock3D";
    public static final String CROSS_ATTN_UP = "CrossAttnUpBlock3D";
    public static final String UP = "UpBlock3D";

    public UNetConfig {
        blockOutChannels = blockOutChannels.clone();
        attentionHeadDims = attentionHeadDims.clone();
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        int n = blockOutChannels.length;
        require(n > 0, "block_out_channels", "must not be empty");
        require(downBlockTypes.size() == n, "down_block_types", "has " + downBlockTypes.size() + " entries, block_out_channels " + n);
        require(upBlockTypes.size() == n, "up_block_types", "has " + upBlockTypes.size() + " entries, block_out_channels " + n);
        require(attentionHeadDims.length == n, "attention_head_dim", "needs one value or one per block (" + n + ")");
        require(inChannels > 0, "in_channels", "must be positive, got " + inChannels);
        require(outChannels > 0, "out_channels", "must be positive, got " + outChannels);
        require(layersPerBlock > 0, "layers_per_block", "must be positive, got " + layersPerBlock);
        require(crossAttentionDim > 0, "cross_attention_dim", "must be positive, got " + crossAttentionDim);
        // Checked before the divisibility checks below, which divide by it.
        require(normNumGroups > 0, "norm_num_groups", "must be positive, got " + normNumGroups);
        for (String t : downBlockTypes) require(t.equals(CROSS_ATTN_DOWN) || t.equals(DOWN), "down_block_types", "contains unsupported '" + t + "' (expected " + CROSS_ATTN_DOWN + " or " + DOWN + ")");
        for (String t : upBlockTypes) require(t.equals(CROSS_ATTN_UP) || t.equals(UP), "up_block_types", "contains unsupported '" + t + "' (expected " + CROSS_ATTN_UP + " or " + UP + ")");
        for (int i = 0; i < n; i++) {
            require(blockOutChannels[i] > 0, "block_out_channels", "[" + i + "] must be positive, got " + blockOutChannels[i]);
            require(attentionHeadDims[i] > 0, "attention_head_dim", "[" + i + "] must be positive, got " + attentionHeadDims[i]);
            require(blockOutChannels[i] % normNumGroups == 0, "norm_num_groups", "= " + normNumGroups + " does not divide block_out_channels[" + i + "] = " + blockOutChannels[i]);
            require(blockOutChannels[i] % attentionHeadDims[i] == 0, "attention_head_dim", "[" + i + "] = " + attentionHeadDims[i] + " does not divide block_out_channels[" + i + "] = " + blockOutChannels[i]);
        }
    }

    /** Parses a diffusers UNet config; {@code source} names the file in error messages. */
    public static UNetConfig fromJson(JsonNode json, String source) {
        return fromJson(new JsonConfig(json, source));
    }

    /** Parses a diffusers UNet config; errors name the file and the key. */
    public static UNetConfig fromJson(JsonConfig c) {
        // No library defaults for these in the I2VGen-XL checkpoints we support: absent is an error.
        for (String key : List.of("block_out_channels", "attention_head_dim", "norm_num_groups", "down_block_types", "up_block_types")) {
            c.requireKey(key);
        }
        int[] blocks = c.getPositiveIntArray("block_out_channels", new int[0]);
        int[] heads = c.node().get("attention_head_dim").isArray()
                ? c.getPositiveIntArray("attention_head_dim", new int[0])
                : fill(blocks.length, c.getPositiveInt("attention_head_dim", 0));
        int inChannels = c.getPositiveInt("in_channels", 4);
        int outChannels = c.getPositiveInt("out_channels", 4);
        int layersPerBlock = c.getPositiveInt("layers_per_block", 2);
        int crossAttentionDim = c.getPositiveInt("cross_attention_dim", 1024);
        int groups = c.getPositiveInt("norm_num_groups", 0);
        List<String> down = List.of(c.getStringArray("down_block_types", new String[0]));
        List<String> up = List.of(c.getStringArray("up_block_types", new String[0]));
        return c.build(() -> new UNetConfig(inChannels, outChannels, blocks, layersPerBlock, heads, crossAttentionDim, groups, down, up));
    }

    /** Reads {@code config.json} of a checkpoint's {@code unet/} folder. */
    public static UNetConfig load(Path configJson) { return fromJson(JsonConfig.read(configJson)); }

    public int blocks() { return blockOutChannels.length; }

    public int blockOutChannels(int i) { return blockOutChannels[i]; }

    public int headDim(int block) { return attentionHeadDims[block]; }

    /** Width of the time / fps embedding: 4 × the first block's channels. */
    public int timeEmbedDim() { return 4 * blockOutChannels[0]; }

    /** Width of the sinusoidal projections of timestep and fps: the first block's channels. */
    public int timeProjDim() { return blockOutChannels[0]; }

    /** Number of up blocks that end with an upsampler (all but the last). */
    public int upsamplers() { return blocks() - 1; }

    /** Image-latent context tokens: the conv chain ends at 8 × 8 (32 × 32 pooled, two stride-2 convs). */
    public int imageLatentContextTokens() { return 64; }

    /** Context length for a text of {@code textLength} tokens: text + 64 image-latent tokens + inChannels CLIP tokens. */
    public int contextLength(int textLength) { return textLength + imageLatentContextTokens() + inChannels; }

    @Override public int[] blockOutChannels() { return blockOutChannels.clone(); }

    @Override public int[] attentionHeadDims() { return attentionHeadDims.clone(); }

    private static int[] fill(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static void require(boolean ok, String key, String message) { ConfigProblem.require(ok, key, message); }
}
