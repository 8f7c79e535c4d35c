package dev.i2vgen.io.safetensors;

import dev.i2vgen.io.MessageText;

import java.nio.file.Path;

/** A malformed or unreadable safetensors file; the message (one line) names the file and, where known, the tensor. */
public final class SafetensorsFormatException extends RuntimeException {
    private final Path file;
    private final String tensor;
    private final String problem;

    public SafetensorsFormatException(Path file, String tensor, String problem) {
        super(MessageText.oneLine(file + (tensor == null ? "" : ", tensor '" + tensor + "'") + ": " + problem));
        this.file = file;
        this.tensor = tensor;
        this.problem = MessageText.oneLine(problem);
    }

    public Path file() { return file; }

    /** The tensor concerned, or null for file-level problems. */
    public String tensor() { return tensor; }

    /** What is wrong, without the file name. */
    public String problem() { return problem; }
}
