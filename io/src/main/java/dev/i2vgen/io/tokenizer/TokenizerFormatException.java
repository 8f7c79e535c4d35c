package dev.i2vgen.io.tokenizer;

import java.nio.file.Path;

/** A missing, unreadable or malformed tokenizer file; the message names the file and what was expected. */
public final class TokenizerFormatException extends RuntimeException {
    private final Path file;

    public TokenizerFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public TokenizerFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    public Path file() { return file; }
}
