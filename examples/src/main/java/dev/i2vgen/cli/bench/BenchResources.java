package dev.i2vgen.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The files the released-architecture benchmark reads from the jar ({@code bench/}, and the demo's tokenizer). */
final class BenchResources {
    private BenchResources() {}

    static InputStream open(String name) {
        return classpath("bench/" + name);
    }

    /**
     * A temporary tokenizer folder in the released layout: the CLIP vocabulary and merges are the same files
     * the demo checkpoint ships (the released ones), the configs are the released model's from {@code bench/}.
     */
    static Path tokenizerFolder() {
        Map<String, String> files = Map.of(
                "vocab.json", "demo/checkpoint/tokenizer/vocab.json",
                "merges.txt", "demo/checkpoint/tokenizer/merges.txt",
                "tokenizer_config.json", "bench/tokenizer.tokenizer_config.json",
                "special_tokens_map.json", "bench/tokenizer.special_tokens_map.json");
        try {
            Path dir = Files.createTempDirectory("i2vgen-bench-tokenizer");
            for (var f : files.entrySet()) {
                Path target = dir.resolve(f.getKey());
                try (InputStream in = classpath(f.getValue())) {
                    Files.copy(in, target);
                }
                target.toFile().deleteOnExit();
            }
            dir.toFile().deleteOnExit();   // registered last: deleted after its files
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the benchmark's tokenizer folder", e);
        }
    }

    private static InputStream classpath(String name) {
        InputStream in = BenchResources.class.getClassLoader().getResourceAsStream(name);
        if (in == null) throw new IllegalStateException("resource " + name + " is missing from the jar (was examples built?)");
        return in;
    }
}
