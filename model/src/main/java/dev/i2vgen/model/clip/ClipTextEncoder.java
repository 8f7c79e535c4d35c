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
import java.util.List;
import java.util.Map;

/**
 * transformers' {@code CLIPTextModel}: token + position embeddings, pre-LN layers with causal
 * attention, final LayerNorm. The pipeline's {@code clip_skip} picks which layer's output gets the
 * final LayerNorm; only the layers that output needs are built.
 */
public final class ClipTextEncoder {
    /** Input name of the token ids in graphs built by {@link #compile}. */
    public static final String INPUT_IDS = "input_ids";
    public static final String OUTPUT_EMBEDS = "prompt_embeds";

    private final ClipTextConfig config;
    private final Weights weights;
    private final ClipEncoderLayer layer;

    public ClipTextEncoder(ClipTextConfig config, TensorSource source) {
        this.config = config;
        // transformers 4.x saved the tower under "text_model."; 5.x files drop the prefix.
        Weights root = new Weights(source);
        this.weights = root.has("text_model.embeddings.token_embedding.weight") ? root.at("text_model") : root;
        this.layer = new ClipEncoderLayer(config.hiddenSize(), config.numAttentionHeads(), config.intermediateSize(),
                config.hiddenAct(), config.layerNormEps());
    }

    public ClipTextConfig config() { return config; }

    /** What {@link #build} produced: the selected embedding and, if asked for, every hidden state. */
    public record Encoding(Value embeds, List<Value> hiddenStates, Value lastHiddenState) {}

    /**
     * Adds the encoder for ids[B, L] (L ≤ max_position_embeddings) and returns embeds[B, L, D]:
     * {@code final_layer_norm(hidden_states[layers − clipSkip])}, or {@code last_hidden_state} when
     * clipSkip is null.
     */
    public Value encode(TaskGraph g, Value inputIds, Integer clipSkip) {
        return build(g, inputIds, clipSkip, false).embeds();
    }

    /**
     * Adds the encoder; with {@code allHiddenStates} every layer is built and hiddenStates holds all
     * layers+1 states (index 0 = embeddings) plus last_hidden_state, otherwise only the states computed.
     */
    public Encoding build(TaskGraph g, Value inputIds, Integer clipSkip, boolean allHiddenStates) {
        int layers = config.numHiddenLayers();
        if (inputIds.rank() != 2) {
            throw new IllegalArgumentException("CLIP text encoder: input_ids must be [batch, tokens], got " + inputIds);
        }
        int len = inputIds.dim(1);
        if (len > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("CLIP text encoder: " + len + " tokens exceed max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        if (clipSkip != null && (clipSkip < 0 || clipSkip >= layers)) {
            throw new IllegalArgumentException("CLIP text encoder: clip_skip must be in [0, " + (layers - 1) + "], got " + clipSkip);
        }
        int selected = clipSkip == null ? layers : layers - clipSkip;
        int built = allHiddenStates ? layers : selected;
        int d = config.hiddenSize();

        List<Value> hidden = new ArrayList<>();
        Value x;
        try (var s = g.scope("text_encoder.embeddings")) {
            Weights e = weights.at("embeddings");
            Value tokens = g.embedding(e.get(g, "token_embedding.weight", config.vocabSize(), d), inputIds);
            Value positions = e.get(g, "position_embedding.weight", config.maxPositionEmbeddings(), d);
            if (len < config.maxPositionEmbeddings()) positions = g.slice(positions, 0, 0, len);
            x = g.add(tokens, positions);
        }
        hidden.add(x);
        for (int l = 0; l < built; l++) {
            try (var s = g.scope("text_encoder.encoder.layers." + l)) {
                x = layer.apply(g, weights.at("encoder").at("layers").at(Integer.toString(l)), x, true);
            }
            hidden.add(x);
        }
        Weights finalNorm = weights.at("final_layer_norm");
        Value embeds, last = null;
        try (var s = g.scope("text_encoder.final_layer_norm")) {
            embeds = layer.layerNorm(g, finalNorm, hidden.get(selected));
            if (built == layers) last = selected == layers ? embeds : layer.layerNorm(g, finalNorm, hidden.get(layers));
        }
        return new Encoding(embeds, List.copyOf(hidden), last);
    }

    /** A compiled graph for ids[batch, tokens] → "prompt_embeds"; reuse it for several prompts. */
    public CompiledStage compile(Backend backend, int batch, int tokens, Integer clipSkip, DType activation) {
        TaskGraph g = new TaskGraph("clip_text_encoder", activation);
        Value ids = g.input(INPUT_IDS, DType.I32, batch, tokens);
        g.output(OUTPUT_EMBEDS, encode(g, ids, clipSkip));
        return CompiledStage.compile(backend, g);
    }

    /** Convenience: builds, compiles, runs once and returns embeds[B, L, D] as F32. */
    public Tensor run(Backend backend, Tensor inputIds, Integer clipSkip, DType activation) {
        try (CompiledStage stage = compile(backend, inputIds.dim(0), inputIds.dim(1), clipSkip, activation)) {
            return stage.run(Map.of(INPUT_IDS, inputIds)).get(OUTPUT_EMBEDS);
        }
    }

    /**
     * Runs all layers and returns "hidden_states.K" (K = 0..layers), "last_hidden_state" and
     * "prompt_embeds" (the clip_skip selection) as F32 host tensors; for conformance checks.
     */
    public Map<String, Tensor> runWithHiddenStates(Backend backend, Tensor inputIds, Integer clipSkip, DType activation) {
        TaskGraph g = new TaskGraph("clip_text_encoder_all", activation);
        Value ids = g.input(INPUT_IDS, DType.I32, inputIds.dim(0), inputIds.dim(1));
        Encoding enc = build(g, ids, clipSkip, true);
        for (int k = 0; k < enc.hiddenStates().size(); k++) g.output("hidden_states." + k, enc.hiddenStates().get(k));
        g.output("last_hidden_state", enc.lastHiddenState());
        g.output(OUTPUT_EMBEDS, enc.embeds());
        try (CompiledStage stage = CompiledStage.compile(backend, g)) {
            return stage.run(Map.of(INPUT_IDS, inputIds));
        }
    }
}
