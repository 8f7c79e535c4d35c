package dev.i2vgen.model.clip;

import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.io.config.JsonConfig;

import java.nio.file.Path;

/** {@code CLIPVisionConfig} fields the vision tower needs, with transformers' defaults for absent keys. */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int projectionDim, int numHiddenLayers,
                               int numAttentionHeads, int numChannels, int imageSize, int patchSize,
                               Unary.Kind hiddenAct, float layerNormEps) {
    public ClipVisionConfig {
        require(hiddenSize > 0, "hidden_size", "must be positive, got " + hiddenSize);
        require(intermediateSize > 0, "intermediate_size", "must be positive, got " + intermediateSize);
        require(projectionDim > 0, "projection_dim", "must be positive, got " + projectionDim);
        require(numHiddenLayers > 0, "num_hidden_layers", "must be positive, got " + numHiddenLayers);
        require(numChannels > 0, "num_channels", "must be positive, got " + numChannels);
        require(imageSize > 0, "image_size", "must be positive, got " + imageSize);
        // Before the divisibility checks, which divide by them.
        require(numAttentionHeads > 0, "num_attention_heads", "must be positive, got " + numAttentionHeads);
        require(patchSize > 0, "patch_size", "must be positive, got " + patchSize);
        require(Float.isFinite(layerNormEps) && layerNormEps >= 0, "layer_norm_eps", "must be a non-negative number, got " + layerNormEps);
        require(hiddenSize % numAttentionHeads == 0, "hidden_size",
                "= " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        require(imageSize % patchSize == 0, "image_size", "= " + imageSize + " is not a multiple of patch_size " + patchSize);
    }

    public static ClipVisionConfig load(Path configJson) { return fromJson(JsonConfig.read(configJson)); }

    /** Accepts a vision-model config or a full CLIPConfig (reads its "vision_config"). */
    public static ClipVisionConfig fromJson(JsonConfig json) {
        JsonConfig c = json.nestedOrSelf("vision_config");
        int hidden = c.getPositiveInt("hidden_size", 768);
        int intermediate = c.getPositiveInt("intermediate_size", 3072);
        int projection = c.getPositiveInt("projection_dim", 512);
        int layers = c.getPositiveInt("num_hidden_layers", 12);
        int heads = c.getPositiveInt("num_attention_heads", 12);
        int channels = c.getPositiveInt("num_channels", 3);
        int image = c.getPositiveInt("image_size", 224);
        int patch = c.getPositiveInt("patch_size", 32);
        Unary.Kind act = ClipActivation.fromConfig(c.getString("hidden_act", "quick_gelu"), c.source());
        float eps = (float) c.getDouble("layer_norm_eps", 1e-5);
        return c.build(() -> new ClipVisionConfig(hidden, intermediate, projection, layers, heads, channels, image, patch, act, eps));
    }

    public int headDim() { return hiddenSize / numAttentionHeads; }

    public int gridSize() { return imageSize / patchSize; }

    /** Patches plus the class token. */
    public int numPositions() { return gridSize() * gridSize() + 1; }

    private static void require(boolean ok, String key, String message) { ConfigProblem.require(ok, key, message); }
}
