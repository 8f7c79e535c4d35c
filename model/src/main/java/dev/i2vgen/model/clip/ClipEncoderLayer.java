package dev.i2vgen.model.clip;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.model.common.Weights;

/**
 * One pre-LayerNorm CLIP transformer layer (shared by the text and vision towers):
 * x += out_proj(attention(LN1(x))); x += fc2(act(fc1(LN2(x)))). Weights under "encoder.layers.{l}".
 */
record ClipEncoderLayer(int width, int heads, int intermediate, Unary.Kind act, float eps) {

    /** Adds the layer's tasks for x[B, L, width]; causal for the text tower, bidirectional for vision. */
    Value apply(TaskGraph g, Weights w, Value x, boolean causal) {
        int d = width;
        Value h = layerNorm(g, w.at("layer_norm1"), x);
        Weights a = w.at("self_attn");
        Value q = projection(g, a.at("q_proj"), h, d, d);
        Value k = projection(g, a.at("k_proj"), h, d, d);
        Value v = projection(g, a.at("v_proj"), h, d, d);
        float scale = (float) (1.0 / Math.sqrt(d / heads));
        Value o = g.attention(q, k, v, heads, scale, causal);
        x = g.add(x, projection(g, a.at("out_proj"), o, d, d));

        h = layerNorm(g, w.at("layer_norm2"), x);
        h = g.unary(projection(g, w.at("mlp").at("fc1"), h, intermediate, d), act);
        return g.add(x, projection(g, w.at("mlp").at("fc2"), h, d, intermediate));
    }

    Value layerNorm(TaskGraph g, Weights w, Value x) {
        return g.layerNorm(x, w.get(g, "weight", width), w.get(g, "bias", width), eps);
    }

    private static Value projection(TaskGraph g, Weights w, Value x, int out, int in) {
        return g.linear(x, w.get(g, "weight", out, in), w.get(g, "bias", out));
    }
}
