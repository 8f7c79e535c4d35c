package dev.i2vgen.model.blocks;

/**
 * Batch and frame counts of the activations a UNet graph is built for. Every 2-D op works in the
 * "frames in batch" layout [N = batch·frames, C, h, w] with row b·frames + f, so the temporal layers
 * need these two numbers to split N again.
 */
public record Video(int batch, int frames) {
    public Video {
        if (batch <= 0 || frames <= 0) throw new IllegalArgumentException("batch and frames must be positive, got " + batch + ", " + frames);
    }

    /** batch · frames. */
    public int n() { return batch * frames; }
}
