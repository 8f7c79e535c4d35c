package dev.i2vgen.model.clip;

import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.model.common.JsonConfig;

import java.nio.file.Path;

/** {@code CLIPTextConfig} fields the text tower needs, with transformers' defaults for absent keys. */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, Unary.Kind hiddenAct,
                             float layerNormEps) {
    public ClipTextConfig {
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("CLIP text config: hidden_size " + hiddenSize
                    + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        if (numHiddenLayers < 1) throw new IllegalArgumentException("CLIP text config: num_hidden_layers must be >= 1, got " + numHiddenLayers);
    }

    public static ClipTextConfig load(Path configJson) { return fromJson(JsonConfig.read(configJson)); }

    /** Accepts a text-model config or a full CLIPConfig (reads its "text_config"). */
    public static ClipTextConfig fromJson(JsonConfig json) {
        JsonConfig c = json.nestedOrSelf("text_config");
        return new ClipTextConfig(
                c.getInt("vocab_size", 49408),
                c.getInt("hidden_size", 512),
                c.getInt("intermediate_size", 2048),
                c.getInt("num_hidden_layers", 12),
                c.getInt("num_attention_heads", 8),
                c.getInt("max_position_embeddings", 77),
                ClipActivation.fromConfig(c.getString("hidden_act", "quick_gelu"), c.source()),
                (float) c.getDouble("layer_norm_eps", 1e-5));
    }

    public int headDim() { return hiddenSize / numAttentionHeads; }
}
