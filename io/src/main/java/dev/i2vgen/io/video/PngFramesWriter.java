package dev.i2vgen.io.video;

import dev.i2vgen.io.AtomicFiles;
import dev.i2vgen.io.image.RgbImage;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.file.Path;
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

    @Override
    public void write(List<RgbImage> frames, int fps) throws IOException {
        VideoWriter.checkFrames(frames, fps);
        AtomicFiles.writeDirectory(directory, tmp -> {
            for (int i = 0; i < frames.size(); i++) {
                Path f = tmp.resolve(frameName(i));
                if (!ImageIO.write(frames.get(i).toBufferedImage(), "png", f.toFile())) {
                    throw new IOException(f + ": no PNG writer available");
                }
            }
        });
    }
}
