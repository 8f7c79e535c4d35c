package dev.i2vgen.io.video;

import dev.i2vgen.io.AtomicFiles;
import dev.i2vgen.io.MessageText;
import dev.i2vgen.io.image.RgbImage;

import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * A folder of lossless frames {@code frame_0000.png, frame_0001.png, …}. PNG has no frame rate;
 * the fps is accepted for the common interface and otherwise unused.
 */
public final class PngFramesWriter implements VideoWriter {
    private final Path directory;

    public PngFramesWriter(Path directory) { this.directory = directory; }

    @Override public Path output() { return directory; }

    /** The file name of frame {@code index}. */
    public static String frameName(int index) { return String.format("frame_%04d.png", index); }

    /** PNG itself holds any size an {@link RgbImage} can. */
    @Override
    public void checkFrameSize(int width, int height) {}

    @Override
    public void checkTarget() throws IOException { AtomicFiles.checkDirectoryTarget(directory); }

    @Override
    public AtomicFiles.Pending begin() throws IOException { return AtomicFiles.beginDirectory(directory); }

    @Override
    public FrameEncoder openEncoder(Path temporary, int width, int height, int fps) throws IOException {
        if (fps < 1) throw new IllegalArgumentException("fps must be ≥ 1, got " + fps);
        return new FrameEncoder() {
            private int frames;

            @Override
            public void encode(RgbImage frame) throws IOException {
                int i = frames++;
                try {
                    writePng(frame, temporary.resolve(frameName(i)));
                } catch (IOException e) {
                    // Named as it would have appeared; the temporary folder is removed.
                    throw new IOException(directory.resolve(frameName(i)) + ": cannot write the frame: " + MessageText.reason(e), e);
                }
            }

            @Override public void finish() {}

            @Override public void close() {}
        };
    }

    /**
     * One PNG file. Through our own stream (not {@code ImageIO.write(image, "png", file)}), so that a failed write
     * keeps the system's reason ("No space left on device") instead of only "I/O error writing PNG file!", and
     * nothing is cached in the temporary-files folder.
     */
    static void writePng(RgbImage frame, Path file) throws IOException {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
        if (!writers.hasNext()) throw new IOException("no PNG writer available");
        ImageWriter writer = writers.next();
        try (OutputStream out = Files.newOutputStream(file); ImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(stream);
            writer.write(frame.toBufferedImage());
        } catch (IOException e) {
            throw new IOException(file + ": cannot write: " + MessageText.reason(e), e);
        } finally {
            writer.dispose();
        }
    }
}
