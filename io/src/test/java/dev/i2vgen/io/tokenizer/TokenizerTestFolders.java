package dev.i2vgen.io.tokenizer;

import dev.i2vgen.io.reference.ReferenceCase;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The bundled reference checkpoints' tokenizer folders (one per layout) and temp-folder helpers for tests. */
final class TokenizerTestFolders {
    private TokenizerTestFolders() {}

    /** vocab.json + merges.txt + tokenizer_config.json (released ali-vilab/i2vgen-xl layout). */
    static Path vocabMergesLayout() {
        try (ReferenceCase c = ReferenceCase.bundled("tiny")) {
            return c.checkpoint().resolve("tokenizer");
        }
    }

    /** tokenizer.json + tokenizer_config.json (what transformers 5 writes). */
    static Path tokenizerJsonLayout() {
        try (ReferenceCase c = ReferenceCase.bundled("tiny-fp16")) {
            return c.checkpoint().resolve("tokenizer");
        }
    }

    /** A temp folder holding copies of the named files of {@code source}. */
    static Path copyOf(Path source, Path target, String... files) {
        try {
            Files.createDirectories(target);
            for (String f : files) Files.copy(source.resolve(f), target.resolve(f));
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
