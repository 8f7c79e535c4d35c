package dev.i2vgen.model.clip;

import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.model.common.JsonConfig;

import java.nio.file.Path;

/** {@code CLIPVisionConfig} fields the vision tower needs, with transformers' defaults for absent keys. */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int projectionDim, int numHiddenLayers,
                               int numAttentionHeads, int numChannels, int imageSize, int patchSize,
                               Unary.Kind hiddenAct, float layerNormEps) {
    public ClipVisionConfig {
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("CLIP vision config: hidden_size " + hiddenSize
                    + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        if (imageSize % patchSize != 0) {
            throw new IllegalArgumentException("CLIP vision config: image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
        }
        if (numHiddenLayers < 1) throw new IllegalArgumentException("CLIP vision config: num_hidden_layers must be >= 1, got " + numHiddenLayers);
    }

    public static ClipVisionConfig load(Path configJson) { return fromJson(JsonConfig.read(configJson)); }

    /** Accepts a vision-model config or a full CLIPConfig (reads its "vision_config"). */
    public static ClipVisionConfig fromJson(JsonConfig json) {
        JsonConfig c = json.nestedOrSelf("vision_config");
        return new ClipVisionConfig(
                c.getInt("hidden_size", 768),
                c.getInt("intermediate_size", 3072),
                c.getInt("projection_dim", 512),
                c.getInt("num_hidden_layers", 12),
                c.getInt("num_attention_heads", 12),
                c.getInt("num_channels", 3),
                c.getInt("image_size", 224),
                c.getInt("patch_size", 32),
                ClipActivation.fromConfig(c.getString("hidden_act", "quick_gelu"), c.source()),
                (float) c.getDouble("layer_norm_eps", 1e-5));
    }

    public int headDim() { return hiddenSize / numAttentionHeads; }

    public int gridSize() { return imageSize / patchSize; }

    /** Patches plus the class token. */
    public int numPositions() { return gridSize() * gridSize() + 1; }
}
