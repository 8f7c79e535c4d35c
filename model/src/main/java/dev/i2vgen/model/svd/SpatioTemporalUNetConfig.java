package dev.i2vgen.model.svd;

import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.io.config.JsonConfig;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * diffusers' {@code UNetSpatioTemporalConditionModel} config (Stable Video Diffusion's UNet) with its defaults for
 * absent keys. Per-block values ({@code num_attention_heads}, {@code layers_per_block}, {@code cross_attention_dim},
 * {@code transformer_layers_per_block}) may be one number or one per down block, as in diffusers.
 *
 * @param numAttentionHeads real head counts per block (head width = channels / heads)
 * @param numFrames         the frames the model was trained for: the pipeline's default {@code num_frames}
 * @param sampleSize        latent size; the pipeline's default height/width is {@code sampleSize · vae scale}
 */
public record SpatioTemporalUNetConfig(int inChannels, int outChannels, int[] blockOutChannels, int[] layersPerBlock,
                                       int[] crossAttentionDims, int[] transformerLayersPerBlock, int[] numAttentionHeads,
                                       int additionTimeEmbedDim, int projectionClassEmbeddingsInputDim, int numFrames,
                                       Integer sampleSize, List<String> downBlockTypes, List<String> upBlockTypes) {

    public static final String CROSS_ATTN_DOWN = "CrossAttnDownBlockSpatioTemporal", DOWN = "DownBlockSpatioTemporal";
    public static final String CROSS_ATTN_UP = "CrossAttnUpBlockSpatioTemporal", UP = "UpBlockSpatioTemporal";
    /** diffusers hard-codes 32 groups for every GroupNorm of this UNet. */
    public static final int NORM_GROUPS = 32;
    /** The added time ids: fps − 1, motion bucket id, noise augmentation strength. */
    public static final int ADDED_TIME_IDS = 3;

    public SpatioTemporalUNetConfig {
        blockOutChannels = blockOutChannels.clone();
        layersPerBlock = layersPerBlock.clone();
        crossAttentionDims = crossAttentionDims.clone();
        transformerLayersPerBlock = transformerLayersPerBlock.clone();
        numAttentionHeads = numAttentionHeads.clone();
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        int n = blockOutChannels.length;
        require(n > 0, "block_out_channels", "must not be empty");
        require(inChannels > 0, "in_channels", "must be positive, got " + inChannels);
        require(outChannels > 0, "out_channels", "must be positive, got " + outChannels);
        require(additionTimeEmbedDim > 0, "addition_time_embed_dim", "must be positive, got " + additionTimeEmbedDim);
        require(sampleSize == null || sampleSize > 0, "sample_size", "must be positive, got " + sampleSize);
        for (int[] perBlock : List.of(layersPerBlock, crossAttentionDims, transformerLayersPerBlock, numAttentionHeads)) {
            // Per-block arrays of the wrong length would fail below with an index error instead.
            require(perBlock.length == n, "block_out_channels", "has " + n + " entries but a per-block value has " + perBlock.length);
        }
        require(downBlockTypes.size() == n, "down_block_types", "has " + downBlockTypes.size() + " entries, block_out_channels " + n);
        require(upBlockTypes.size() == n, "up_block_types", "has " + upBlockTypes.size() + " entries, block_out_channels " + n);
        for (String t : downBlockTypes) require(t.equals(CROSS_ATTN_DOWN) || t.equals(DOWN), "down_block_types", "contains unsupported '" + t + "' (expected " + CROSS_ATTN_DOWN + " or " + DOWN + ")");
        for (String t : upBlockTypes) require(t.equals(CROSS_ATTN_UP) || t.equals(UP), "up_block_types", "contains unsupported '" + t + "' (expected " + CROSS_ATTN_UP + " or " + UP + ")");
        for (int i = 0; i < n; i++) {
            require(blockOutChannels[i] > 0, "block_out_channels", "[" + i + "] must be positive, got " + blockOutChannels[i]);
            require(crossAttentionDims[i] > 0, "cross_attention_dim", "must be positive, got " + crossAttentionDims[i]);
            require(blockOutChannels[i] % NORM_GROUPS == 0, "block_out_channels", "[" + i + "] = " + blockOutChannels[i] + " is not divisible by the 32 GroupNorm groups");
            require(numAttentionHeads[i] > 0 && blockOutChannels[i] % numAttentionHeads[i] == 0, "num_attention_heads",
                    "[" + i + "] = " + numAttentionHeads[i] + " does not divide block_out_channels[" + i + "] = " + blockOutChannels[i]);
            require(layersPerBlock[i] > 0, "layers_per_block", "must be positive, got " + layersPerBlock[i]);
            require(transformerLayersPerBlock[i] > 0, "transformer_layers_per_block", "must be positive, got " + transformerLayersPerBlock[i]);
        }
        require(projectionClassEmbeddingsInputDim == ADDED_TIME_IDS * additionTimeEmbedDim, "projection_class_embeddings_input_dim",
                "= " + projectionClassEmbeddingsInputDim + " must be 3 × addition_time_embed_dim (" + additionTimeEmbedDim + "): the pipeline passes 3 added time ids");
        require(numFrames > 0, "num_frames", "must be positive, got " + numFrames);
    }

    public static SpatioTemporalUNetConfig load(Path configJson) { return fromJson(JsonConfig.read(configJson)); }

    public static SpatioTemporalUNetConfig fromJson(JsonConfig c) {
        int[] blocks = c.getPositiveIntArray("block_out_channels", new int[]{320, 640, 1280, 1280});
        int n = blocks.length;
        int inChannels = c.getPositiveInt("in_channels", 8), outChannels = c.getPositiveInt("out_channels", 4);
        int[] layers = perBlock(c, "layers_per_block", 2, n), crossDims = perBlock(c, "cross_attention_dim", 1024, n);
        int[] transformerLayers = perBlock(c, "transformer_layers_per_block", 1, n);
        int[] heads = perBlock(c, "num_attention_heads", 0, n, new int[]{5, 10, 20, 20});
        int timeEmbed = c.getPositiveInt("addition_time_embed_dim", 256);
        int projectionInput = c.getPositiveInt("projection_class_embeddings_input_dim", 768);
        int frames = c.getPositiveInt("num_frames", 25);
        Integer sample = c.has("sample_size") ? c.getPositiveInt("sample_size", 0) : null;
        List<String> down = List.of(c.getStringArray("down_block_types", new String[]{CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, DOWN}));
        List<String> up = List.of(c.getStringArray("up_block_types", new String[]{UP, CROSS_ATTN_UP, CROSS_ATTN_UP, CROSS_ATTN_UP}));
        return c.build(() -> new SpatioTemporalUNetConfig(inChannels, outChannels, blocks, layers, crossDims, transformerLayers,
                heads, timeEmbed, projectionInput, frames, sample, down, up));
    }

    private static int[] perBlock(JsonConfig c, String key, int dflt, int n) { return perBlock(c, key, dflt, n, null); }

    /** One number for every block, or one per block; {@code dfltArray} (if given) is diffusers' tuple default. */
    private static int[] perBlock(JsonConfig c, String key, int dflt, int n, int[] dfltArray) {
        var node = c.node().get(key);
        if (node == null || node.isNull()) {
            if (dfltArray != null) {
                if (dfltArray.length != n) throw c.invalid(key, "is absent and its default " + Arrays.toString(dfltArray) + " does not fit " + n + " blocks");
                return dfltArray.clone();
            }
            int[] a = new int[n];
            Arrays.fill(a, dflt);
            return a;
        }
        if (node.isArray()) {
            int[] a = c.getPositiveIntArray(key, new int[0]);
            if (a.length != n) throw c.invalid(key, "has " + a.length + " entries; block_out_channels has " + n);
            return a;
        }
        int v = c.getPositiveInt(key, dflt);
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    public int blocks() { return blockOutChannels.length; }

    public int blockOutChannels(int i) { return blockOutChannels[i]; }

    public int heads(int block) { return numAttentionHeads[block]; }

    public int layersPerBlock(int block) { return layersPerBlock[block]; }

    public int crossAttentionDim(int block) { return crossAttentionDims[block]; }

    public int transformerLayers(int block) { return transformerLayersPerBlock[block]; }

    /** The context width the pipeline feeds (the CLIP image embedding): the first block's cross_attention_dim. */
    public int contextDim() { return crossAttentionDims[0]; }

    /** Width of the time embedding: 4 × the first block's channels. */
    public int timeEmbedDim() { return 4 * blockOutChannels[0]; }

    /** Up blocks with an upsampler (all but the last). */
    public int upsamplers() { return blocks() - 1; }

    @Override public int[] blockOutChannels() { return blockOutChannels.clone(); }
    @Override public int[] layersPerBlock() { return layersPerBlock.clone(); }
    @Override public int[] crossAttentionDims() { return crossAttentionDims.clone(); }
    @Override public int[] transformerLayersPerBlock() { return transformerLayersPerBlock.clone(); }
    @Override public int[] numAttentionHeads() { return numAttentionHeads.clone(); }

    private static void require(boolean ok, String key, String message) { ConfigProblem.require(ok, key, message); }
}
