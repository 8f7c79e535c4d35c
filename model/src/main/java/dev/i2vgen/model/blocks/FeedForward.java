package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/** diffusers' {@code FeedForward}: {@code net.0} (projection + activation), {@code net.2} (output Linear). */
public final class FeedForward {
    private FeedForward() {}

    /** GEGLU: Linear(d → 2·hidden), value half × GELU(gate half), Linear(hidden → d). */
    public static Value geglu(TaskGraph g, Weights w, Value x, int hidden) {
        int d = x.dim(-1);
        Value p = g.linear(x, w.get(g, "net.0.proj.weight", 2 * hidden, d), w.get(g, "net.0.proj.bias", 2 * hidden));
        Value h = g.geglu(p);
        return g.linear(h, w.get(g, "net.2.weight", d, hidden), w.get(g, "net.2.bias", d));
    }

    /** Plain exact-GELU MLP: Linear(d → hidden), GELU, Linear(hidden → d). */
    public static Value gelu(TaskGraph g, Weights w, Value x, int hidden) {
        int d = x.dim(-1);
        Value p = g.linear(x, w.get(g, "net.0.proj.weight", hidden, d), w.get(g, "net.0.proj.bias", hidden));
        return g.linear(g.gelu(p), w.get(g, "net.2.weight", d, hidden), w.get(g, "net.2.bias", d));
    }
}
