package dev.i2vgen.io.video;

import dev.i2vgen.io.AtomicFiles;
import dev.i2vgen.io.image.RgbImage;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * An endlessly looping animated GIF (NETSCAPE2.0 extension, loop count 0) written with the JDK's GIF
 * writer, which quantises each frame to its own 256-colour palette (not Pillow's median cut, so
 * colours differ slightly from diffusers' {@code export_to_gif}). Frame delay as diffusers/Pillow:
 * {@code 1000 // fps} milliseconds truncated to centiseconds (10 fps → 10 cs, 16 fps → 6 cs).
 */
public final class GifVideoWriter implements VideoWriter {
    private static final String FORMAT = "javax_imageio_gif_image_1.0";
    private final Path file;

    public GifVideoWriter(Path file) { this.file = file; }

    @Override public Path output() { return file; }

    /** The per-frame delay in centiseconds that Pillow stores for {@code export_to_gif(fps)}. */
    public static int delayCentiseconds(int fps) {
        if (fps < 1) throw new IllegalArgumentException("fps must be ≥ 1, got " + fps);
        return (1000 / fps) / 10;
    }

    /** GIF stores the logical screen size in 16 bits; the JDK writer silently wraps larger sizes. */
    public static final int MAX_SIDE = 65535;

    @Override
    public void checkFrameSize(int width, int height) {
        if (width > MAX_SIDE || height > MAX_SIDE) {
            throw new IllegalArgumentException(file + ": a GIF holds frames of at most " + MAX_SIDE + "×" + MAX_SIDE
                    + " pixels, got " + width + "×" + height);
        }
    }

    @Override
    public void checkTarget() throws IOException { AtomicFiles.checkFileTarget(file); }

    @Override
    public FrameEncoder openEncoder(Path temporary, int width, int height, int fps) throws IOException {
        checkFrameSize(width, height);
        int delay = delayCentiseconds(fps);
        ImageWriter writer = jdkGifWriter();
        ImageOutputStream out = null;
        try {
            out = ImageIO.createImageOutputStream(temporary.toFile());
            if (out == null) throw new IOException(temporary + ": cannot open an image output stream");
            writer.setOutput(out);
            writer.prepareWriteSequence(null);
            return new Encoder(writer, out, delay);
        } catch (IOException | RuntimeException e) {
            writer.dispose();
            if (out != null) out.close();
            throw e;
        }
    }

    /** One GIF being written with the JDK's writer: a sequence of frames, each with the delay and the first with the loop. */
    private static final class Encoder implements FrameEncoder {
        private final ImageWriter writer;
        private final ImageOutputStream out;
        private final int delay;
        private final ImageWriteParam param;
        private int frames;

        Encoder(ImageWriter writer, ImageOutputStream out, int delay) {
            this.writer = writer;
            this.out = out;
            this.delay = delay;
            this.param = writer.getDefaultWriteParam();
        }

        @Override
        public void encode(RgbImage frame) throws IOException {
            BufferedImage image = frame.toBufferedImage();
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), param);
            meta.mergeTree(FORMAT, frameMetadata(delay, frames++ == 0));
            writer.writeToSequence(new IIOImage(image, null, meta), param);
        }

        @Override
        public void finish() throws IOException { writer.endWriteSequence(); }

        @Override
        public void close() throws IOException {
            try {
                writer.dispose();
            } finally {
                out.close();
            }
        }
    }

    private static IIOMetadataNode frameMetadata(int delay, boolean first) {
        IIOMetadataNode root = new IIOMetadataNode(FORMAT);
        IIOMetadataNode gce = new IIOMetadataNode("GraphicControlExtension");
        gce.setAttribute("disposalMethod", "none");
        gce.setAttribute("userInputFlag", "FALSE");
        gce.setAttribute("transparentColorFlag", "FALSE");
        gce.setAttribute("delayTime", Integer.toString(delay));
        gce.setAttribute("transparentColorIndex", "0");
        root.appendChild(gce);
        if (first) { // the loop extension belongs once, after the first frame's header
            IIOMetadataNode apps = new IIOMetadataNode("ApplicationExtensions");
            IIOMetadataNode app = new IIOMetadataNode("ApplicationExtension");
            app.setAttribute("applicationID", "NETSCAPE");
            app.setAttribute("authenticationCode", "2.0");
            app.setUserObject(new byte[] {1, 0, 0}); // sub-block 1, loop count 0 = forever (little-endian)
            apps.appendChild(app);
            root.appendChild(apps);
        }
        return root;
    }

    /** The JDK's writer (jai-imageio registers another GIF writer; keep behaviour independent of classpath order). */
    private static ImageWriter jdkGifWriter() throws IOException {
        ImageWriter fallback = null;
        for (Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("gif"); it.hasNext(); ) {
            ImageWriter w = it.next();
            if (w.getClass().getName().startsWith("com.sun.imageio.")) return w;
            if (fallback == null) fallback = w;
        }
        if (fallback == null) throw new IOException("no GIF ImageIO writer available");
        return fallback;
    }
}
