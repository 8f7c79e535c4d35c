package dev.i2vgen.model.clip;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * transformers' {@code CLIPVisionModelWithProjection}: patch conv (no bias) + class token + positions,
 * {@code pre_layrnorm}, bidirectional pre-LN layers, {@code post_layernorm} of the class token,
 * {@code visual_projection} (no bias, no L2 normalisation) → image_embeds. Input pixel_values are
 * already resized and normalised by the caller.
 */
public final class ClipVisionEncoder {
    public static final String INPUT_PIXELS = "pixel_values";
    public static final String OUTPUT_EMBEDS = "image_embeds";

    private final ClipVisionConfig config;
    private final Weights tower;
    private final Weights projection;
    private final ClipEncoderLayer layer;

    public ClipVisionEncoder(ClipVisionConfig config, TensorSource source) {
        this.config = config;
        Weights root = new Weights(source);
        this.tower = root.at("vision_model");
        this.projection = root.at("visual_projection");
        this.layer = new ClipEncoderLayer(config.hiddenSize(), config.numAttentionHeads(), config.intermediateSize(),
                config.hiddenAct(), config.layerNormEps());
    }

    public ClipVisionConfig config() { return config; }

    /** image_embeds[n, projection_dim] and, if asked for, hidden_states (index 0 = after pre_layrnorm). */
    public record Encoding(Value imageEmbeds, List<Value> hiddenStates) {}

    /** Adds the tower for pixel_values[n, C, S, S] and returns image_embeds[n, projection_dim]. */
    public Value encode(TaskGraph g, Value pixelValues) { return build(g, pixelValues).imageEmbeds(); }

    public Encoding build(TaskGraph g, Value pixels) {
        int c = config.numChannels(), size = config.imageSize(), p = config.patchSize(), d = config.hiddenSize();
        int[] expected = {pixels.dim(0), c, size, size};
        if (pixels.rank() != 4 || !Arrays.equals(pixels.shape(), expected)) {
            throw new IllegalArgumentException("CLIP vision encoder: pixel_values must be [n, " + c + ", " + size + ", " + size
                    + "] (image_size " + size + " from the config, no position interpolation), got " + Arrays.toString(pixels.shape()));
        }
        int n = pixels.dim(0), grid = config.gridSize(), tokens = config.numPositions();
        List<Value> hidden = new ArrayList<>();
        Value x;
        try (var s = g.scope("clip_vision.embeddings")) {
            Weights e = tower.at("embeddings");
            Value patches = g.conv2d(pixels, e.get(g, "patch_embedding.weight", d, c, p, p), null, p, 0); // [n, D, g, g]
            // token index = row-major patch position; channels become the last axis
            patches = g.permute(g.reshape(patches, n, d, grid * grid), 0, 2, 1);
            Value cls = classToken(g, e, d);
            if (n > 1) {
                // one class token per image: repeat the [1, 1, D] row on the batch axis
                Value[] copies = new Value[n];
                Arrays.fill(copies, cls);
                cls = g.concat(0, copies);
            }
            x = g.concat(1, cls, patches);
            x = g.add(x, e.get(g, "position_embedding.weight", tokens, d));
        }
        try (var s = g.scope("clip_vision.pre_layrnorm")) {
            x = layer.layerNorm(g, tower.at("pre_layrnorm"), x);
        }
        hidden.add(x);
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            try (var s = g.scope("clip_vision.encoder.layers." + l)) {
                x = layer.apply(g, tower.at("encoder").at("layers").at(Integer.toString(l)), x, false);
            }
            hidden.add(x);
        }
        Value embeds;
        try (var s = g.scope("clip_vision.head")) {
            Value pooled = layer.layerNorm(g, tower.at("post_layernorm"), g.slice(x, 1, 0, 1));
            pooled = g.reshape(pooled, n, d);
            embeds = g.linear(pooled, projection.get(g, "weight", config.projectionDim(), d), null);
        }
        return new Encoding(embeds, List.copyOf(hidden));
    }

    /** A compiled graph for pixel_values[n, C, S, S] → "image_embeds". */
    public CompiledStage compile(Backend backend, int images, DType activation) {
        return CompiledStage.compile(backend, graph(images, activation));
    }

    /** The graph {@link #compile} compiles: pixel_values[n, C, S, S] (F32) → "image_embeds". */
    public TaskGraph graph(int images, DType activation) {
        TaskGraph g = new TaskGraph("clip_vision_encoder", activation);
        Value px = g.input(INPUT_PIXELS, DType.F32, images, config.numChannels(), config.imageSize(), config.imageSize());
        g.output(OUTPUT_EMBEDS, encode(g, castTo(g, px, activation)));
        return g;
    }

    /** Convenience: builds, compiles, runs once and returns image_embeds[n, projection_dim] as F32. */
    public Tensor run(Backend backend, Tensor pixelValues, DType activation) {
        try (CompiledStage stage = compile(backend, pixelValues.dim(0), activation)) {
            return run(stage, pixelValues);
        }
    }

    /** image_embeds[n, projection_dim] (F32) of {@code pixelValues} on a stage compiled from {@link #graph}. */
    public static Tensor run(CompiledStage stage, Tensor pixelValues) {
        return stage.run(Map.of(INPUT_PIXELS, pixelValues)).get(OUTPUT_EMBEDS);
    }

    /** Returns "hidden_states.K" (K = 0..layers) and "image_embeds" as F32 host tensors; for conformance checks. */
    public Map<String, Tensor> runWithHiddenStates(Backend backend, Tensor pixelValues, DType activation) {
        TaskGraph g = new TaskGraph("clip_vision_encoder_all", activation);
        Value px = g.input(INPUT_PIXELS, DType.F32, pixelValues.shape());
        Encoding enc = build(g, castTo(g, px, activation));
        for (int k = 0; k < enc.hiddenStates().size(); k++) g.output("hidden_states." + k, enc.hiddenStates().get(k));
        g.output(OUTPUT_EMBEDS, enc.imageEmbeds());
        try (CompiledStage stage = CompiledStage.compile(backend, g)) {
            return stage.run(Map.of(INPUT_PIXELS, pixelValues));
        }
    }

    /** The class embedding [D] as a [1, 1, D] constant (reshaped on the host: no alias of a weight in the graph). */
    private static Value classToken(TaskGraph g, Weights e, int d) {
        Tensor t = e.tensor("class_embedding");
        if (t.numel() != d) {
            throw new IllegalArgumentException("CLIP vision encoder: tensor '" + e.path("class_embedding") + "' has shape "
                    + Arrays.toString(t.shape()) + ", the config expects [" + d + "]");
        }
        return g.constant(e.path("class_embedding"), t.reshape(1, 1, d));
    }

    static Value castTo(TaskGraph g, Value x, DType activation) {
        return x.dtype() == activation ? x : g.cast(x, activation);
    }
}
