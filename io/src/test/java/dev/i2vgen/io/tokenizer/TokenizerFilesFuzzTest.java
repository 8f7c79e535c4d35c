package dev.i2vgen.io.tokenizer;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Corrupted vocab.json / merges.txt / tokenizer.json: reading succeeds or throws TokenizerFormatException naming a file of the folder. */
class TokenizerFilesFuzzTest {
    @Property(tries = 45)
    void corruptedFileFailsNamingIt(@ForAll @IntRange(min = 0, max = 2) int which, @ForAll long seed) throws IOException {
        Random rng = new Random(seed);
        Path dir = Files.createTempDirectory("tok");
        try {
            String victim;
            if (which == 2) {
                TokenizerTestFolders.copyOf(TokenizerTestFolders.tokenizerJsonLayout(), dir, "tokenizer.json", "tokenizer_config.json");
                victim = "tokenizer.json";
            } else {
                TokenizerTestFolders.copyOf(TokenizerTestFolders.vocabMergesLayout(), dir, "vocab.json", "merges.txt", "tokenizer_config.json");
                victim = which == 0 ? "vocab.json" : "merges.txt";
            }
            byte[] b = Files.readAllBytes(dir.resolve(victim));
            switch (rng.nextInt(3)) {
                case 0 -> b = java.util.Arrays.copyOf(b, rng.nextInt(b.length));
                case 1 -> { for (int i = 0; i < 1 + rng.nextInt(4); i++) b[rng.nextInt(Math.min(b.length, 4096))] ^= (byte) (1 << rng.nextInt(8)); }
                default -> { b = new byte[rng.nextInt(64)]; rng.nextBytes(b); }
            }
            Files.write(dir.resolve(victim), b);
            try {
                TokenizerFolderReader.read(dir);
            } catch (TokenizerFormatException e) {
                assertTrue(e.file().startsWith(dir), e.getMessage());
                assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }
}
