package dev.i2vgen.model.svd;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.blocks.SpatioTemporalResBlock;
import dev.i2vgen.model.blocks.UNetSkips;
import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.TensorSource;

/**
 * Stable Video Diffusion's UNet (diffusers' {@code UNetSpatioTemporalConditionModel}) as tasks of a {@link TaskGraph},
 * built from its {@link SpatioTemporalUNetConfig} and checkpoint weights. Tensors are in SVD's frame-major layout
 * [B, F, C, h, w], which is already the frames-in-batch layout [B·F, C, h, w] of the 2-D ops (a free reshape).
 * Video mode only (image_only_indicator all zeros, as the pipeline passes it).
 */
public final class SpatioTemporalUNet {
    /** Graph input names of one UNet call. */
    public static final String SAMPLE = "sample", TIMESTEP = "timestep", ENCODER_HIDDEN_STATES = "encoder_hidden_states",
            ADDED_TIME_IDS = "added_time_ids";
    /** Graph output: the prediction [B, F, out, h, w]. */
    public static final String OUT = "out";

    private static final float EPS_CROSS = 1e-6f, EPS_PLAIN = 1e-5f, EPS_OUT = 1e-5f;

    private final SpatioTemporalUNetConfig config;
    private final Weights weights;

    public SpatioTemporalUNet(SpatioTemporalUNetConfig config, TensorSource weights) {
        this.config = config;
        this.weights = new Weights(weights);
    }

    public SpatioTemporalUNetConfig config() { return config; }

    /**
     * A graph for one UNet call: sample [B, F, in, h, w] (activation), timestep [B] and added_time_ids [B, 3] (F32),
     * encoder_hidden_states [B, contextLength, D] (activation); output {@link #OUT} [B, F, out, h, w].
     */
    public TaskGraph buildGraph(int batch, int frames, int height, int width, int contextLength, DType activation) {
        TaskGraph g = new TaskGraph("svd_unet", activation);
        Value sample = g.input(SAMPLE, activation, batch, frames, config.inChannels(), height, width);
        Value timestep = g.input(TIMESTEP, DType.F32, batch);
        Value context = g.input(ENCODER_HIDDEN_STATES, activation, batch, contextLength, config.contextDim());
        Value ids = g.input(ADDED_TIME_IDS, DType.F32, batch, SpatioTemporalUNetConfig.ADDED_TIME_IDS);
        g.output(OUT, forward(g, sample, timestep, context, ids));
        return g;
    }

    /**
     * Adds one forward pass to {@code g}: sample [B, F, in, h, w], timestep [B], context [B, L, D] (one per video),
     * addedTimeIds [B, 3] → [B, F, out, h, w].
     */
    public Value forward(TaskGraph g, Value sample, Value timestep, Value context, Value addedTimeIds) {
        int b = sample.dim(0), f = sample.dim(1), h = sample.dim(3), w = sample.dim(4);
        Video video = new Video(b, f);
        Value embSilu = g.silu(embedding(g, timestep, addedTimeIds));   // every resnet takes SiLU(emb)
        Value x = g.reshape(sample, video.n(), sample.dim(2), h, w);
        int c0 = config.blockOutChannels(0);
        try (var s = g.scope("conv_in")) {
            x = g.conv2d(x, weights.get(g, "conv_in.weight", c0, x.dim(1), 3, 3), weights.get(g, "conv_in.bias", c0), 1, 1);
        }
        UNetSkips skips = new UNetSkips(h, w, config.upsamplers());
        skips.push(x);
        for (int i = 0; i < config.blocks(); i++) {
            try (var s = g.scope("down_blocks." + i)) {
                x = downBlock(g, i, video, x, embSilu, context, skips);
            }
        }
        try (var s = g.scope("mid_block")) {
            x = midBlock(g, video, x, embSilu, context);
        }
        for (int i = 0; i < config.blocks(); i++) {
            try (var s = g.scope("up_blocks." + i)) {
                x = upBlock(g, i, video, x, embSilu, context, skips);
            }
        }
        try (var s = g.scope("conv_out")) {
            x = g.groupNorm(x, weights.get(g, "conv_norm_out.weight", c0), weights.get(g, "conv_norm_out.bias", c0),
                    SpatioTemporalUNetConfig.NORM_GROUPS, EPS_OUT, true);
            int out = config.outChannels();
            x = g.conv2d(x, weights.get(g, "conv_out.weight", out, c0, 3, 3), weights.get(g, "conv_out.bias", out), 1, 1);
            return g.reshape(x, b, f, out, h, w);
        }
    }

    /**
     * time_embedding(time_proj(t)) + add_embedding(concat_k add_time_proj(id_k)), one row per video [B, E]:
     * Timesteps(flip_sin_to_cos = true, shift 0) of widths block_out_channels[0] and addition_time_embed_dim.
     */
    private Value embedding(TaskGraph g, Value timestep, Value addedTimeIds) {
        int b = timestep.dim(0), p = config.blockOutChannels(0), e = config.timeEmbedDim();
        int a = config.additionTimeEmbedDim(), ids = config.projectionClassEmbeddingsInputDim();
        try (var s = g.scope("time_embedding")) {
            Value t = g.timestepEmbedding(timestep, p, true, 0f);
            t = mlp(g, weights.at("time_embedding"), t, p, e);
            Value added = g.timestepEmbedding(g.reshape(addedTimeIds, b * SpatioTemporalUNetConfig.ADDED_TIME_IDS), a, true, 0f);
            Value aug = mlp(g, weights.at("add_embedding"), g.reshape(added, b, ids), ids, e);
            return g.add(t, aug);
        }
    }

    /** diffusers' TimestepEmbedding: linear_1, SiLU, linear_2. */
    private static Value mlp(TaskGraph g, Weights w, Value x, int in, int out) {
        Value h = g.silu(g.linear(x, w.get(g, "linear_1.weight", out, in), w.get(g, "linear_1.bias", out)));
        return g.linear(h, w.get(g, "linear_2.weight", out, out), w.get(g, "linear_2.bias", out));
    }

    private Value downBlock(TaskGraph g, int i, Video video, Value x, Value embSilu, Value context, UNetSkips skips) {
        Weights bw = weights.at("down_blocks." + i);
        boolean cross = config.downBlockTypes().get(i).equals(SpatioTemporalUNetConfig.CROSS_ATTN_DOWN);
        int c = config.blockOutChannels(i);
        float eps = cross ? EPS_CROSS : EPS_PLAIN;   // diffusers: 1e-6 in the cross-attention down blocks, 1e-5 in the plain one
        for (int j = 0; j < config.layersPerBlock(i); j++) {
            x = resBlock(g, bw.at("resnets." + j), video, x, embSilu, c, eps);
            if (cross) x = transformer(g, bw.at("attentions." + j), video, x, context, i);
            skips.push(x);
        }
        if (i < config.blocks() - 1) x = skips.downsample(g, bw.at("downsamplers.0"), x);
        return x;
    }

    private Value midBlock(TaskGraph g, Video video, Value x, Value embSilu, Value context) {
        Weights mw = weights.at("mid_block");
        int last = config.blocks() - 1, c = config.blockOutChannels(last);
        x = resBlock(g, mw.at("resnets.0"), video, x, embSilu, c, EPS_PLAIN);
        x = transformer(g, mw.at("attentions.0"), video, x, context, last);
        return resBlock(g, mw.at("resnets.1"), video, x, embSilu, c, EPS_PLAIN);
    }

    private Value upBlock(TaskGraph g, int i, Video video, Value x, Value embSilu, Value context, UNetSkips skips) {
        Weights bw = weights.at("up_blocks." + i);
        int rev = config.blocks() - 1 - i, c = config.blockOutChannels(rev);
        boolean cross = config.upBlockTypes().get(i).equals(SpatioTemporalUNetConfig.CROSS_ATTN_UP);
        for (int j = 0; j < config.layersPerBlock(rev) + 1; j++) {
            x = skips.concatNext(g, x, i, j);
            x = resBlock(g, bw.at("resnets." + j), video, x, embSilu, c, EPS_CROSS);   // every up block: 1e-6
            if (cross) x = transformer(g, bw.at("attentions." + j), video, x, context, rev);
        }
        if (i < config.blocks() - 1) x = skips.upsample(g, bw.at("upsamplers.0"), x);
        return x;
    }

    private static Value resBlock(TaskGraph g, Weights w, Video video, Value x, Value embSilu, int c, float eps) {
        return SpatioTemporalResBlock.build(g, w, video, x, embSilu, c, SpatioTemporalUNetConfig.NORM_GROUPS, eps, eps, false);
    }

    private Value transformer(TaskGraph g, Weights w, Video video, Value x, Value context, int block) {
        return TransformerSpatioTemporal.build(g, w, video, x, context, config.heads(block), config.transformerLayers(block));
    }
}
