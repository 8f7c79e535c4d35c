package dev.i2vgen.model.unet;

import dev.i2vgen.model.blocks.ResnetBlock;
import dev.i2vgen.model.blocks.UNetSkips;
import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.TensorSource;

/**
 * I2VGen-XL's 3-D UNet (diffusers' {@code I2VGenXLUNet}) expressed as tasks of a {@link TaskGraph}.
 * The architecture comes from the {@link UNetConfig}; weights are read by their checkpoint names and
 * their shapes are checked against what the config implies. Backends are not named here: callers
 * freeze the graph and compile it with whatever backend they hold (see {@link UNetRunner}).
 */
public final class I2VGenXLUNet {
    /** Graph input names (one UNet call). */
    public static final String SAMPLE = "sample", TIMESTEP = "timestep", ENCODER_HIDDEN_STATES = "encoder_hidden_states",
            FPS = "fps", IMAGE_LATENTS = "image_latents", IMAGE_EMBEDDINGS = "image_embeddings";
    /** Graph output name: the v-prediction [B, out, F, h, w]. */
    public static final String OUT = "out";
    /** Prefix of the recorded module outputs ("unet0.down_blocks.0", as in the reference cases). */
    public static final String MODULE_PREFIX = "unet0.";

    private final UNetConfig config;
    private final Weights weights;

    public I2VGenXLUNet(UNetConfig config, TensorSource weights) {
        this.config = config;
        this.weights = new Weights(weights);
    }

    public UNetConfig config() { return config; }

    /**
     * A graph for one UNet call with fixed shapes: declares the six inputs and the output {@link #OUT};
     * with {@code recordModules} also every top-level module's output as {@code unet0.<module>}.
     */
    public UNetStepGraph buildGraph(UNetShape shape, DType activation, boolean recordModules) {
        TaskGraph g = new TaskGraph("unet", activation);
        int c = config.inChannels();
        Value sample = g.input(SAMPLE, activation, shape.batch(), c, shape.frames(), shape.height(), shape.width());
        Value timestep = g.input(TIMESTEP, DType.F32, shape.batch());
        Value text = g.input(ENCODER_HIDDEN_STATES, activation, shape.batch(), shape.textLength(), config.crossAttentionDim());
        Value fps = g.input(FPS, DType.F32, shape.batch());
        Value imageLatents = g.input(IMAGE_LATENTS, activation, shape.batch(), c, shape.frames(), shape.height(), shape.width());
        Value imageEmbeddings = g.input(IMAGE_EMBEDDINGS, activation, shape.batch(), 1, config.crossAttentionDim());
        Value out = forward(g, sample, timestep, text, fps, imageLatents, imageEmbeddings, recordModules);
        g.output(OUT, out);
        return new UNetStepGraph(g.freeze(), shape, recordModules);
    }

    /**
     * Adds one forward pass to {@code g}. Shapes: sample and imageLatents [B, in, F, h, w], timestep and
     * fps [B], text [B, L, D], imageEmbeddings [B, 1, D]. Returns [B, out, F, h, w].
     */
    public Value forward(TaskGraph g, Value sample, Value timestep, Value text, Value fps, Value imageLatents,
                         Value imageEmbeddings, boolean recordModules) {
        ModuleRecorder rec = new ModuleRecorder(g, MODULE_PREFIX, recordModules);
        Video video = new Video(sample.dim(0), sample.dim(2));
        int h = sample.dim(3), w = sample.dim(4), groups = config.normNumGroups();

        Value embSilu = g.silu(timeAndFpsEmbedding(g, timestep, fps, rec));   // [B, E]; every ResNet takes SiLU(emb)
        Value context = ImageConditioning.context(g, weights, config, text, imageLatents, imageEmbeddings, rec);

        // Input stage: [sample, refined image latents] on channels, frames into the batch.
        Value latentChannels = ImageConditioning.channels(g, weights, config, video, imageLatents, rec);
        Value x = g.reshape(g.permute(sample, 0, 2, 1, 3, 4), video.n(), sample.dim(1), h, w);
        x = g.concat(1, x, latentChannels);
        int c0 = config.blockOutChannels(0);
        try (var s = g.scope("conv_in")) {
            x = g.conv2d(x, weights.get(g, "conv_in.weight", c0, x.dim(1), 3, 3), weights.get(g, "conv_in.bias", c0), 1, 1);
            rec.record("conv_in", x);
        }
        try (var s = g.scope("transformer_in")) {
            // diffusers: 8 heads of width attention_head_dim, whatever the block widths.
            x = TemporalTransformer.build(g, weights.at("transformer_in"), video, x, 8, config.headDim(0), groups);
            rec.record("transformer_in", x);
        }

        UNetSkips skips = new UNetSkips(h, w, config.upsamplers());
        skips.push(x);
        for (int i = 0; i < config.blocks(); i++) {
            try (var s = g.scope("down_blocks." + i)) {
                x = downBlock(g, i, video, x, embSilu, context, skips);
                rec.record("down_blocks." + i, x);
            }
        }
        try (var s = g.scope("mid_block")) {
            x = midBlock(g, video, x, embSilu, context);
            rec.record("mid_block", x);
        }
        for (int i = 0; i < config.blocks(); i++) {
            try (var s = g.scope("up_blocks." + i)) {
                x = upBlock(g, i, video, x, embSilu, context, skips);
                rec.record("up_blocks." + i, x);
            }
        }

        try (var s = g.scope("conv_out")) {
            Value gamma = weights.get(g, "conv_norm_out.weight", c0), beta = weights.get(g, "conv_norm_out.bias", c0);
            if (rec.enabled()) {
                x = g.groupNorm(x, gamma, beta, groups, ResnetBlock.EPS, false);
                rec.record("conv_norm_out", x);
                x = g.silu(x);
                rec.record("conv_act", x);
            } else {
                x = g.groupNorm(x, gamma, beta, groups, ResnetBlock.EPS, true);
            }
            int out = config.outChannels();
            x = g.conv2d(x, weights.get(g, "conv_out.weight", out, c0, 3, 3), weights.get(g, "conv_out.bias", out), 1, 1);
            rec.record("conv_out", x);
            return g.permute(g.reshape(x, video.batch(), video.frames(), out, h, w), 0, 2, 1, 3, 4);
        }
    }

    /** t_emb + fps_emb, one row per video: [B, timeEmbedDim]. */
    private Value timeAndFpsEmbedding(TaskGraph g, Value timestep, Value fps, ModuleRecorder rec) {
        int p = config.timeProjDim(), e = config.timeEmbedDim();
        try (var s = g.scope("time_embedding")) {
            // Timesteps(flip_sin_to_cos = true, downscale_freq_shift = 0)
            Value tProj = g.timestepEmbedding(timestep, p, true, 0f);
            Weights tw = weights.at("time_embedding");
            Value t = g.silu(g.linear(tProj, tw.get(g, "linear_1.weight", e, p), tw.get(g, "linear_1.bias", e)));
            t = g.linear(t, tw.get(g, "linear_2.weight", e, e), tw.get(g, "linear_2.bias", e));
            rec.record("time_embedding", t);

            Weights fw = weights.at("fps_embedding");
            Value fProj = g.timestepEmbedding(fps, p, true, 0f);
            // diffusers' time_proj module runs twice (timestep, then fps); a forward hook, like the
            // reference recording, keeps the last call's output, so "time_proj" is the fps projection.
            rec.record("time_proj", fProj);
            Value f = g.silu(g.linear(fProj, fw.get(g, "0.weight", e, p), fw.get(g, "0.bias", e)));
            f = g.linear(f, fw.get(g, "2.weight", e, e), fw.get(g, "2.bias", e));
            rec.record("fps_embedding", f);
            return g.add(t, f);
        }
    }

    private Value downBlock(TaskGraph g, int i, Video video, Value x, Value embSilu, Value context, UNetSkips skips) {
        Weights bw = weights.at("down_blocks." + i);
        boolean cross = config.downBlockTypes().get(i).equals(UNetConfig.CROSS_ATTN_DOWN);
        int c = config.blockOutChannels(i), headDim = config.headDim(i);
        for (int j = 0; j < config.layersPerBlock(); j++) {
            x = layer(g, bw, j, video, x, embSilu, cross ? context : null, c, headDim);
            skips.push(x);
        }
        if (i < config.blocks() - 1) x = skips.downsample(g, bw.at("downsamplers.0"), x);
        return x;
    }

    private Value midBlock(TaskGraph g, Video video, Value x, Value embSilu, Value context) {
        Weights mw = weights.at("mid_block");
        int c = config.blockOutChannels(config.blocks() - 1), headDim = config.headDim(config.blocks() - 1);
        int groups = config.normNumGroups();
        x = ResnetBlock.build(g, mw.at("resnets.0"), video, x, embSilu, c, groups);
        x = TemporalConvLayer.build(g, mw.at("temp_convs.0"), video, x, groups);
        x = SpatialTransformer.build(g, mw.at("attentions.0"), video, x, context, headDim, groups);
        x = TemporalTransformer.build(g, mw.at("temp_attentions.0"), video, x, c / headDim, headDim, groups);
        x = ResnetBlock.build(g, mw.at("resnets.1"), video, x, embSilu, c, groups);
        return TemporalConvLayer.build(g, mw.at("temp_convs.1"), video, x, groups);
    }

    private Value upBlock(TaskGraph g, int i, Video video, Value x, Value embSilu, Value context, UNetSkips skips) {
        Weights bw = weights.at("up_blocks." + i);
        int rev = config.blocks() - 1 - i;
        boolean cross = config.upBlockTypes().get(i).equals(UNetConfig.CROSS_ATTN_UP);
        int c = config.blockOutChannels(rev), headDim = config.headDim(rev);
        for (int j = 0; j < config.layersPerBlock() + 1; j++) {
            x = skips.concatNext(g, x, i, j);
            x = layer(g, bw, j, video, x, embSilu, cross ? context : null, c, headDim);
        }
        if (i < config.blocks() - 1) x = skips.upsample(g, bw.at("upsamplers.0"), x);
        return x;
    }

    /** One block layer: ResNet → temporal conv [→ spatial transformer → temporal transformer]. */
    private Value layer(TaskGraph g, Weights bw, int j, Video video, Value x, Value embSilu, Value context, int c, int headDim) {
        int groups = config.normNumGroups();
        x = ResnetBlock.build(g, bw.at("resnets." + j), video, x, embSilu, c, groups);
        x = TemporalConvLayer.build(g, bw.at("temp_convs." + j), video, x, groups);
        if (context != null) {
            x = SpatialTransformer.build(g, bw.at("attentions." + j), video, x, context, headDim, groups);
            x = TemporalTransformer.build(g, bw.at("temp_attentions." + j), video, x, c / headDim, headDim, groups);
        }
        return x;
    }
}
