package dev.i2vgen.io.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokenizer files that are not what they claim: each error names the file, the key or place, and what is wrong. */
class TokenizerFileProblemsTest {
    @TempDir Path dir;

    private Path copy() {
        return TokenizerTestFolders.copyOf(TokenizerTestFolders.vocabMergesLayout(), dir.resolve("tok"),
                "vocab.json", "merges.txt", "tokenizer_config.json");
    }

    private static TokenizerFormatException rejected(Path folder, Path file) {
        var e = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(folder));
        assertEquals(file, e.file(), e.getMessage());
        return e;
    }

    @Test
    void mergesThatAreNotUtf8SayWhere() throws IOException {
        Path folder = copy();
        Path merges = folder.resolve("merges.txt");
        byte[] latin1 = "#version: 0.2\ni n\nt h\ncaf\u00e9 x\n".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(merges, latin1);
        var e = rejected(folder, merges);
        assertEquals(merges + ": cannot read: not valid UTF-8: byte 0xE9 at offset 25 (line 4)", e.getMessage());
    }

    @Test
    void modelMaxLengthIsAnIntegerInRange() throws IOException {
        Path folder = copy();
        Path config = folder.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"model_max_length\": 77.5}");
        assertEquals(config + ": 'model_max_length' must be an integer, got 77.5", rejected(folder, config).getMessage());
        Files.writeString(config, "{\"model_max_length\": 1000000000000000019884624838656}");   // transformers' "no limit"
        assertTrue(rejected(folder, config).getMessage().startsWith(config + ": 'model_max_length' must be an integer, got "));
        Files.writeString(config, "{\"model_max_length\": 1000000000}");
        assertEquals(config + ": 'model_max_length' must be an integer in 2..65536 (the padded length, bos and eos included), got 1000000000",
                rejected(folder, config).getMessage());
    }

    @Test
    void fractionalVocabularyIdsAreRefused() throws IOException {
        Path folder = copy();
        Path vocab = folder.resolve("vocab.json");
        Files.writeString(vocab, Files.readString(vocab).replace("\"cat</w>\": 2368", "\"cat</w>\": 2368.5"));
        assertTrue(rejected(folder, vocab).getMessage().contains("vocabulary id of 'cat</w>' must be an integer, got 2368.5"));
    }

    @Test
    void anIdOutsideTheVocabularyNamesTheVocabularyFile() {
        ClipTokenizer tokenizer = ClipTokenizer.fromFolder(copy());
        var e = assertThrows(IllegalArgumentException.class, () -> tokenizer.tokenOf(99999));
        assertEquals("token id 99999 is not in the vocabulary (0..49407) of " + dir.resolve("tok/vocab.json"), e.getMessage());
        assertEquals(dir.resolve("tok/vocab.json"), tokenizer.vocabularyFile());
        assertEquals(dir.resolve("tok/tokenizer_config.json"), tokenizer.configFile());
    }
}
