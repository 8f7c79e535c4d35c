package dev.i2vgen.io.tokenizer;

import dev.i2vgen.io.MessageText;

import java.nio.file.Path;

/** A missing, unreadable or malformed tokenizer file; the message (one line) names the file and what was expected. */
public final class TokenizerFormatException extends RuntimeException {
    private final Path file;

    public TokenizerFormatException(Path file, String problem) {
        super(MessageText.oneLine(file + ": " + problem));
        this.file = file;
    }

    public TokenizerFormatException(Path file, String problem, Throwable cause) {
        super(MessageText.oneLine(file + ": " + problem), cause);
        this.file = file;
    }

    public Path file() { return file; }
}
