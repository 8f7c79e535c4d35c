package dev.i2vgen.spark;

import org.jcodec.api.FrameGrab;
import org.jcodec.common.io.FileChannelWrapper;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.model.Picture;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Inputs and checks shared by the batch tests: images drawn here, MP4 files decoded back. */
final class BatchTestFiles {
    private BatchTestFiles() {}

    /** A small gradient PNG whose colours depend on {@code shade}. */
    static Path image(Path file, int shade) throws IOException {
        BufferedImage img = new BufferedImage(61, 43, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                img.setRGB(x, y, ((x * 4 + shade) & 0xff) << 16 | ((y * 5) & 0xff) << 8 | ((shade * 3) & 0xff));
            }
        }
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    /** Frame sizes (width × height) of an MP4, decoded with jcodec. */
    static List<String> decodedFrameSizes(Path mp4) throws Exception {
        try (FileChannelWrapper ch = NIOUtils.readableChannel(mp4.toFile())) {
            FrameGrab grab = FrameGrab.createFrameGrab(ch);
            List<String> sizes = new ArrayList<>();
            for (Picture p; (p = grab.getNativeFrame()) != null; ) sizes.add(p.getWidth() + "x" + p.getHeight());
            return sizes;
        }
    }
}
