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
import java.util.List;

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
    public void write(List<RgbImage> frames, int fps) throws IOException {
        VideoWriter.checkFrames(this, frames, fps);
        AtomicFiles.writeDirectory(directory, tmp -> {
            for (int i = 0; i < frames.size(); i++) {
                try {
                    writePng(frames.get(i), tmp.resolve(frameName(i)));
                } catch (IOException e) {
                    // Named as it would have appeared; the temporary folder is removed.
                    throw new IOException(directory.resolve(frameName(i)) + ": cannot write the frame: " + MessageText.reason(e), e);
                }
            }
        });
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
