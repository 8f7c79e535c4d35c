package dev.i2vgen.io.video;

import dev.i2vgen.io.AtomicFiles;
import dev.i2vgen.io.image.RgbImage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a sequence of equally sized RGB frames to one output ({@link #output()}). The output
 * appears atomically: everything is written to a temporary sibling first and renamed at the end,
 * so a failed or interrupted (SIGINT, SIGTERM) write leaves nothing, and an existing file is replaced
 * only on success ({@link dev.i2vgen.io.AtomicFiles}).
 */
public interface VideoWriter {
    /** Where {@link #write} puts the video. */
    Path output();

    /**
     * Writes the whole video: the checks of {@link #checkFrames}, then the frames through {@link #openEncoder} into a
     * temporary output renamed into place at the end.
     *
     * @param frames at least one frame, all of the same size
     * @param fps    frames per second, ≥ 1
     */
    default void write(List<RgbImage> frames, int fps) throws IOException {
        checkFrames(this, frames, fps);
        RgbImage first = frames.get(0);
        try (AtomicFiles.Pending out = begin()) {
            try (FrameEncoder encoder = openEncoder(out.temporary(), first.width(), first.height(), fps)) {
                for (RgbImage frame : frames) encoder.encode(frame);
                encoder.finish();
            }
            out.publish();
        }
    }

    /** The temporary output of a write ({@link AtomicFiles#beginFile}, or {@link AtomicFiles#beginDirectory} for frame folders). */
    default AtomicFiles.Pending begin() throws IOException { return AtomicFiles.beginFile(output()); }

    /**
     * An encoder writing frames of {@code width}×{@code height} (checked by {@link #checkFrameSize}) at {@code fps}
     * into {@code temporary}, the empty file or folder {@link #begin} made; {@link #write} and {@link VideoStream} use it.
     */
    FrameEncoder openEncoder(java.nio.file.Path temporary, int width, int height, int fps) throws IOException;

    /**
     * Refuses a frame size this format cannot hold, before any frames exist (an {@link IllegalArgumentException}
     * naming the limit); {@link #write} refuses the same.
     */
    void checkFrameSize(int width, int height);

    /**
     * Refuses an output {@link #write} could not create (an existing directory for a file, a non-empty folder for
     * frames, a missing or unwritable folder), without writing it: to check before hours of generation.
     */
    void checkTarget() throws IOException;

    /**
     * Lets the writer get ready, off the caller's thread, for frames of this size that are still being made (the MP4
     * writer compiles its encoder's hot paths on throwaway frames). Returns at once, writes nothing, never throws;
     * by default does nothing.
     */
    default void warmUp(int width, int height) {}

    /** The shared argument checks, done before anything touches the disk. */
    static void checkFrames(VideoWriter writer, List<RgbImage> frames, int fps) {
        if (frames == null || frames.isEmpty()) throw new IllegalArgumentException("no frames to write");
        if (fps < 1) throw new IllegalArgumentException("fps must be ≥ 1, got " + fps);
        RgbImage first = frames.get(0);
        for (int i = 1; i < frames.size(); i++) {
            RgbImage f = frames.get(i);
            if (f.width() != first.width() || f.height() != first.height()) {
                throw new IllegalArgumentException("frame " + i + " is " + f.width() + "×" + f.height()
                        + " but frame 0 is " + first.width() + "×" + first.height());
            }
        }
        writer.checkFrameSize(first.width(), first.height());
    }
}
