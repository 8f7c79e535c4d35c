package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;

import java.io.IOException;

/**
 * One video being encoded into a temporary output, frame after frame ({@link VideoWriter#openEncoder}): what
 * {@link VideoWriter#write} and {@link VideoStream} both drive, so the two write the same bytes. Not thread-safe:
 * one thread at a time.
 */
public interface FrameEncoder extends AutoCloseable {
    /** Encodes the next frame (of the size the encoder was opened for). */
    void encode(RgbImage frame) throws IOException;

    /** Completes the output after the last frame (an MP4's index, a GIF's trailer). */
    void finish() throws IOException;

    /** Releases the files it holds open, finished or not. */
    @Override
    void close() throws IOException;
}
