package dev.i2vgen.io.image;

import dev.i2vgen.io.MessageText;

import java.nio.file.Path;

/** An image file that cannot be read or has an unsupported format; the message (one line) names the file. */
public final class UnreadableImageException extends RuntimeException {
    private final Path file;

    public UnreadableImageException(Path file, String problem, Throwable cause) {
        super(MessageText.oneLine(file + ": " + problem), cause);
        this.file = file;
    }

    public Path file() { return file; }
}
