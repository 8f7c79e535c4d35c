package dev.i2vgen.io.video;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Chooses a {@link VideoWriter} from the output path: {@code .mp4}, {@code .gif}, or a folder of PNG frames. */
public final class VideoWriters {
    private VideoWriters() {}

    /**
     * {@code *.mp4} → {@link Mp4VideoWriter}; {@code *.gif} → {@link GifVideoWriter}; a name without
     * extension (or an existing directory) → {@link PngFramesWriter}. Other extensions are rejected.
     */
    public static VideoWriter forOutput(Path output) {
        if (output.toString().isEmpty()) throw new IllegalArgumentException("the output path is empty");
        if (output.getFileName() == null) throw new IllegalArgumentException("output path '" + output + "' has no file name");
        String name = output.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String ext = dot > 0 ? name.substring(dot + 1).toLowerCase(Locale.ROOT) : "";
        if (ext.equals("mp4")) return new Mp4VideoWriter(output);
        if (ext.equals("gif")) return new GifVideoWriter(output);
        if (ext.isEmpty() || Files.isDirectory(output)) return new PngFramesWriter(output);
        throw new IllegalArgumentException("unsupported video output '" + output + "': expected a .mp4 or .gif file, "
                + "or a directory name (without extension) for PNG frames");
    }
}
