package dev.i2vgen.model.vae;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.model.blocks.ResnetBlock;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;

/**
 * The VAE's building blocks (diffusers ResnetBlock2D without time embedding, mid-block attention) as task-adding
 * functions over x[N, C, H, W]; its Downsample2D and Upsample2D are the shared ones in {@code model.blocks}.
 */
final class VaeBlocks {
    private VaeBlocks() {}

    /** diffusers' ResnetBlock2D without time embedding (the shared {@link ResnetBlock}), with the VAE's epsilon. */
    static Value resnet(TaskGraph g, Weights w, Value x, int outChannels, int groups) {
        return ResnetBlock.build(g, w, null, x, null, outChannels, groups, VaeConfig.NORM_EPS);
    }

    /**
     * Single-head self-attention over all H·W positions with a residual connection:
     * x + to_out(softmax(q kᵀ / √C) v) with q, k, v from GroupNorm(x). Accepts the legacy names
     * query/key/value/proj_attn and 1×1-conv-shaped [C, C, 1, 1] projection weights.
     */
    static Value midAttention(TaskGraph g, Weights w, Value x, int groups) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        Value t = norm(g, w.at("group_norm"), x, groups, false);
        t = g.permute(g.reshape(t, n, c, h * wd), 0, 2, 1);   // tokens [N, H·W, C], token = y·W + x
        Value q = attnLinear(g, w, "to_q", "query", t, c);
        Value k = attnLinear(g, w, "to_k", "key", t, c);
        Value v = attnLinear(g, w, "to_v", "value", t, c);
        Value o = g.attention(q, k, v, 1, (float) (1.0 / Math.sqrt(c)), false);
        o = attnLinear(g, w, "to_out.0", "proj_attn", o, c);
        o = g.reshape(g.permute(o, 0, 2, 1), n, c, h, wd);
        return g.add(o, x);
    }

    static Value norm(TaskGraph g, Weights w, Value x, int groups, boolean silu) {
        int c = x.dim(1);
        return g.groupNorm(x, w.get(g, "weight", c), w.get(g, "bias", c), groups, VaeConfig.NORM_EPS, silu);
    }

    static Value conv(TaskGraph g, Weights w, Value x, int out, int in, int k, Conv2d params) {
        return g.conv2d(x, w.get(g, "weight", out, in, k, k), w.get(g, "bias", out), params);
    }

    /** x in {@code dtype}, or x itself when it already is. */
    static Value cast(TaskGraph g, Value x, DType dtype) {
        return x.dtype() == dtype ? x : g.cast(x, dtype);
    }

    /** Checks that x is [N, channels, H, W]; {@code what} names the tensor in the error. */
    static void checkChannels(Value x, int channels, String what) {
        if (x.rank() != 4 || x.dim(1) != channels) {
            throw new IllegalArgumentException("VAE: " + what + " must be [N, " + channels + ", H, W], got " + Arrays.toString(x.shape()));
        }
    }

    private static Value attnLinear(TaskGraph g, Weights w, String name, String legacyName, Value x, int c) {
        String chosen = w.has(name + ".weight") || !w.has(legacyName + ".weight") ? name : legacyName;
        Weights p = w.at(chosen);
        Tensor weight = p.tensor("weight");
        int[] s = weight.shape();
        boolean linearShape = Arrays.equals(s, new int[]{c, c});
        boolean convShape = Arrays.equals(s, new int[]{c, c, 1, 1});
        if (!linearShape && !convShape) {
            throw new IllegalArgumentException("VAE attention: tensor '" + p.path("weight") + "' has shape " + Arrays.toString(s)
                    + ", expected [" + c + ", " + c + "] (or [" + c + ", " + c + ", 1, 1])");
        }
        // reshape 1×1-conv weights on the host so the graph sees a plain Linear weight
        Value wv = linearShape ? p.get(g, "weight", c, c) : g.constant(p.path("weight"), weight.reshape(c, c));
        return g.linear(x, wv, p.get(g, "bias", c));
    }
}
