package dev.i2vgen.model.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
        require(n > 0, "block_out_channels must not be empty");
        require(downBlockTypes.size() == n, "down_block_types has " + downBlockTypes.size() + " entries, block_out_channels " + n);
        require(upBlockTypes.size() == n, "up_block_types has " + upBlockTypes.size() + " entries, block_out_channels " + n);
        require(attentionHeadDims.length == n, "attention_head_dim needs one value or one per block (" + n + ")");
        require(layersPerBlock > 0, "layers_per_block must be positive, got " + layersPerBlock);
        for (String t : downBlockTypes) require(t.equals(CROSS_ATTN_DOWN) || t.equals(DOWN), "unsupported down block type '" + t + "' (expected " + CROSS_ATTN_DOWN + " or " + DOWN + ")");
        for (String t : upBlockTypes) require(t.equals(CROSS_ATTN_UP) || t.equals(UP), "unsupported up block type '" + t + "' (expected " + CROSS_ATTN_UP + " or " + UP + ")");
        for (int i = 0; i < n; i++) {
            require(blockOutChannels[i] % normNumGroups == 0, "block_out_channels[" + i + "] = " + blockOutChannels[i] + " not divisible by norm_num_groups " + normNumGroups);
            require(blockOutChannels[i] % attentionHeadDims[i] == 0, "block_out_channels[" + i + "] = " + blockOutChannels[i] + " not divisible by attention_head_dim " + attentionHeadDims[i]);
        }
    }

    /** Parses a diffusers UNet config; {@code source} names the file in error messages. */
    public static UNetConfig fromJson(JsonNode json, String source) {
        try {
            int[] blocks = ints(json, "block_out_channels");
            JsonNode head = required(json, "attention_head_dim");
            int[] heads = head.isArray() ? ints(json, "attention_head_dim") : fill(blocks.length, head.asInt());
            JsonNode groups = json.get("norm_num_groups");
            if (groups == null || groups.isNull()) throw new IllegalArgumentException("norm_num_groups null is not supported");
            return new UNetConfig(
                    json.path("in_channels").asInt(4),
                    json.path("out_channels").asInt(4),
                    blocks,
                    json.path("layers_per_block").asInt(2),
                    heads,
                    json.path("cross_attention_dim").asInt(1024),
                    groups.asInt(),
                    strings(json, "down_block_types"),
                    strings(json, "up_block_types"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": invalid I2VGen-XL UNet config: " + e.getMessage(), e);
        }
    }

    /** Reads {@code config.json} of a checkpoint's {@code unet/} folder. */
    public static UNetConfig load(Path configJson) {
        try {
            return fromJson(new ObjectMapper().readTree(Files.readString(configJson)), configJson.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read UNet config " + configJson, e);
        }
    }

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

    private static JsonNode required(JsonNode json, String key) {
        JsonNode n = json.get(key);
        if (n == null || n.isNull()) throw new IllegalArgumentException("missing key '" + key + "'");
        return n;
    }

    private static int[] ints(JsonNode json, String key) {
        JsonNode n = required(json, key);
        if (!n.isArray()) throw new IllegalArgumentException("'" + key + "' must be an array, got " + n);
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) out[i] = n.get(i).asInt();
        return out;
    }

    private static List<String> strings(JsonNode json, String key) {
        JsonNode n = required(json, key);
        if (!n.isArray()) throw new IllegalArgumentException("'" + key + "' must be an array, got " + n);
        List<String> out = new ArrayList<>();
        n.forEach(e -> out.add(e.asText()));
        return out;
    }

    private static int[] fill(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
