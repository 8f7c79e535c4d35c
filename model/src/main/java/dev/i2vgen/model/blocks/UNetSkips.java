package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A UNet's skip connections (diffusers' res_hidden_states): the down path pushes conv_in's output and every layer's
 * and downsampler's; the up path takes them back newest first, concatenated after its own features, and its
 * upsamplers follow their sizes when doubling would not give them back.
 */
public final class UNetSkips {
    private final Deque<Value> stack = new ArrayDeque<>();
    private final boolean followSizes;

    /** For a sample of height × width through a UNet with that many upsamplers. */
    public UNetSkips(int height, int width, int upsamplers) {
        // diffusers' upsample_size: ×2 misses the down path's sizes when h or w is not a multiple of 2^upsamplers
        int factor = 1 << upsamplers;
        this.followSizes = height % factor != 0 || width % factor != 0;
    }

    public void push(Value x) { stack.push(x); }

    /** The down blocks' {@link Downsample2D} (padding 1), whose output is a skip connection too. */
    public Value downsample(TaskGraph g, Weights w, Value x) {
        Value y = Downsample2D.build(g, w, x, 1);
        stack.push(y);
        return y;
    }

    /** concat(x, newest skip) on channels, current first: the input of up block {@code block}'s layer {@code layer}. */
    public Value concatNext(TaskGraph g, Value x, int block, int layer) {
        if (stack.isEmpty()) throw new IllegalStateException("up_blocks." + block + " layer " + layer + ": no skip connection left");
        return g.concat(1, x, stack.pop());
    }

    /** The up blocks' {@link Upsample2D}: ×2, or to the next skip's size where doubling would miss it. */
    public Value upsample(TaskGraph g, Weights w, Value x) {
        return Upsample2D.build(g, w, x, followSizes ? stack.peek() : null);
    }
}
