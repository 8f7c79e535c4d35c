package dev.i2vgen.model.unet;

import dev.i2vgen.model.blocks.Video;

/**
 * The fixed shapes one UNet graph is built for: batch (after CFG doubling), frames, latent height and
 * width, and text length (77 for CLIP).
 */
public record UNetShape(int batch, int frames, int height, int width, int textLength) {
    public UNetShape {
        if (batch <= 0 || frames <= 0 || height <= 0 || width <= 0 || textLength <= 0) {
            throw new IllegalArgumentException("UNet shape must be positive: batch " + batch + ", frames " + frames
                    + ", latent " + height + "x" + width + ", text length " + textLength);
        }
    }

    Video video() { return new Video(batch, frames); }
}
