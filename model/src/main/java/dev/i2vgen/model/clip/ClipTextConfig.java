package dev.i2vgen.model.clip;

import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.io.config.JsonConfig;

import java.nio.file.Path;

/** {@code CLIPTextConfig} fields the text tower needs, with transformers' defaults for absent keys. */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, Unary.Kind hiddenAct,
                             float layerNormEps) {
    public ClipTextConfig {
        require(vocabSize > 0, "vocab_size", "must be positive, got " + vocabSize);
        require(hiddenSize > 0, "hidden_size", "must be positive, got " + hiddenSize);
        require(intermediateSize > 0, "intermediate_size", "must be positive, got " + intermediateSize);
        require(numHiddenLayers > 0, "num_hidden_layers", "must be positive, got " + numHiddenLayers);
        require(maxPositionEmbeddings > 0, "max_position_embeddings", "must be positive, got " + maxPositionEmbeddings);
        // Before the divisibility check, which divides by it.
        require(numAttentionHeads > 0, "num_attention_heads", "must be positive, got " + numAttentionHeads);
        require(Float.isFinite(layerNormEps) && layerNormEps >= 0, "layer_norm_eps", "must be a non-negative number, got " + layerNormEps);
        require(hiddenSize % numAttentionHeads == 0, "hidden_size",
                "= " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
    }

    public static ClipTextConfig load(Path configJson) { return fromJson(JsonConfig.read(configJson)); }

    /** Accepts a text-model config or a full CLIPConfig (reads its "text_config"). */
    public static ClipTextConfig fromJson(JsonConfig json) {
        JsonConfig c = json.nestedOrSelf("text_config");
        int vocab = c.getPositiveInt("vocab_size", 49408);
        int hidden = c.getPositiveInt("hidden_size", 512);
        int intermediate = c.getPositiveInt("intermediate_size", 2048);
        int layers = c.getPositiveInt("num_hidden_layers", 12);
        int heads = c.getPositiveInt("num_attention_heads", 8);
        int positions = c.getPositiveInt("max_position_embeddings", 77);
        Unary.Kind act = ClipActivation.fromConfig(c.getString("hidden_act", "quick_gelu"), c.source());
        float eps = (float) c.getDouble("layer_norm_eps", 1e-5);
        return c.build(() -> new ClipTextConfig(vocab, hidden, intermediate, layers, heads, positions, act, eps));
    }

    public int headDim() { return hiddenSize / numAttentionHeads; }

    private static void require(boolean ok, String key, String message) { ConfigProblem.require(ok, key, message); }
}
