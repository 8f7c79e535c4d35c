package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.function.Function;

/**
 * The structure of the VAE decoder (model/.../vae/VaeDecoder, VaeBlocks) rebuilt from graph ops for backend tests,
 * which cannot depend on the model module: cast-in latents, conv_in, mid block (resnet, single-head attention through
 * GroupNorm → reshape → permute, resnet), up blocks of resnets (1x1 shortcut where channels change) with nearest x2
 * upsampling + conv, GroupNorm+SiLU, conv_out to 3 channels, cast to F32. {@code channels} lists the block channels
 * from the finest level up (the decoder walks them in reverse), as diffusers' block_out_channels.
 */
final class DecoderLikeGraph {
    private final TaskGraph g;
    private final int groups;
    private final Function<int[], Tensor> weights;
    private int names;

    private DecoderLikeGraph(TaskGraph g, int groups, Function<int[], Tensor> weights) {
        this.g = g;
        this.groups = groups;
        this.weights = weights;
    }

    /** z[N, 4, h, w] (any dtype) → images[N, 3, H, W] in F32; weights made by {@code weights} from their shapes. */
    static Value build(TaskGraph g, Value z, int[] channels, int resnetsPerBlock, int groups, DType act, Function<int[], Tensor> weights) {
        DecoderLikeGraph d = new DecoderLikeGraph(g, groups, weights);
        int levels = channels.length;
        Value x = z.dtype() == act ? z : g.cast(z, act);
        x = d.conv(x, channels[levels - 1], 3);
        x = d.resnet(x, channels[levels - 1]);
        x = d.attention(x);
        x = d.resnet(x, channels[levels - 1]);
        for (int i = 0; i < levels; i++) {
            int out = channels[levels - 1 - i];
            for (int j = 0; j < resnetsPerBlock; j++) x = d.resnet(x, out);
            if (i < levels - 1) x = d.conv(g.upsampleNearest(x, x.dim(2) * 2, x.dim(3) * 2), x.dim(1), 3);
        }
        x = d.norm(x, true);
        x = d.conv(x, 3, 3);
        return g.cast(x, DType.F32);
    }

    /** Gaussian weights scaled by 1/sqrt(fan-in) (activations stay O(1), as in a trained network); biases and norms O(1). */
    static Function<int[], Tensor> randomWeights(java.util.Random rnd) {
        return shape -> {
            long n = Tensor.numel(shape);
            long fanIn = shape.length == 1 ? 1 : n / shape[0];
            float scale = shape.length == 1 ? 0.5f : (float) (1 / Math.sqrt(fanIn));
            float[] v = new float[(int) n];
            for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian() * scale;
            return Tensor.fromFloats(v, shape);
        };
    }

    private Value weight(int... shape) { return g.constant("w" + names++, weights.apply(shape)); }

    private Value gamma(int c) {
        Tensor t = weights.apply(new int[]{c});
        for (long i = 0; i < t.numel(); i++) t.setFlat(i, 1 + t.getFlat(i) * 0.2f);   // near 1, like a trained norm
        return g.constant("w" + names++, t);
    }

    private Value conv(Value x, int out, int k) {
        return g.conv2d(x, weight(out, x.dim(1), k, k), weight(out), 1, (k - 1) / 2);
    }

    private Value norm(Value x, boolean silu) {
        return g.groupNorm(x, gamma(x.dim(1)), weight(x.dim(1)), groups, 1e-6f, silu);
    }

    private Value resnet(Value x, int out) {
        Value h = conv(norm(x, true), out, 3);
        h = conv(norm(h, true), out, 3);
        Value shortcut = x.dim(1) == out ? x : conv(x, out, 1);
        return g.add(shortcut, h);
    }

    private Value attention(Value x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Value t = g.permute(g.reshape(norm(x, false), n, c, h * w), 0, 2, 1);
        Value q = g.linear(t, weight(c, c), weight(c)), k = g.linear(t, weight(c, c), weight(c)), v = g.linear(t, weight(c, c), weight(c));
        Value o = g.linear(g.attention(q, k, v, 1, (float) (1 / Math.sqrt(c)), false), weight(c, c), weight(c));
        return g.add(g.reshape(g.permute(o, 0, 2, 1), n, c, h, w), x);
    }
}
