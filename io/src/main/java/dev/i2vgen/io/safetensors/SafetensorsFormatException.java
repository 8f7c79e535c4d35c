package dev.i2vgen.io.safetensors;

import java.nio.file.Path;

/** A malformed or unreadable safetensors file; the message names the file and, where known, the tensor. */
public final class SafetensorsFormatException extends RuntimeException {
    private final Path file;
    private final String tensor;

    public SafetensorsFormatException(Path file, String tensor, String problem) {
        super(file + (tensor == null ? "" : ", tensor '" + tensor + "'") + ": " + problem);
        this.file = file;
        this.tensor = tensor;
    }

    public Path file() { return file; }

    public String tensor() { return tensor; }
}
