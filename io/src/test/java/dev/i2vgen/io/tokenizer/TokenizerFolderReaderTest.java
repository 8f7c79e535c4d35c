package dev.i2vgen.io.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Both folder layouts, both merge notations, config handling and the error messages for bad folders. */
class TokenizerFolderReaderTest {
    private static final List<String> PROMPTS = List.of("a photo of a cat", "", "It's a 4K café—don't   STOP!!\tNaïve\n(2024) 🙂",
            "A red fox jumps over a frozen lake at dawn, cinematic", "東京 タワー ✓ <|endoftext|> 123");

    @Test
    void bothLayoutsDefineTheSameTokenizer() {
        TokenizerDefinition a = TokenizerFolderReader.read(TokenizerTestFolders.vocabMergesLayout());
        TokenizerDefinition b = TokenizerFolderReader.read(TokenizerTestFolders.tokenizerJsonLayout());
        assertEquals(a.vocab(), b.vocab());
        assertEquals(48894, a.merges().size());
        assertEquals(a.merges().size(), b.merges().size());
        for (int i = 0; i < a.merges().size(); i++) assertArrayEquals(a.merges().get(i), b.merges().get(i), "merge " + i);
        assertEquals(List.of(a.bosToken(), a.eosToken(), a.unkToken(), a.padToken(), a.maxLength()),
                List.of(b.bosToken(), b.eosToken(), b.unkToken(), b.padToken(), b.maxLength()));
        ClipTokenizer ta = ClipTokenizer.of(a, TokenizerFlavor.FAST), tb = ClipTokenizer.of(b, TokenizerFlavor.FAST);
        for (String p : PROMPTS) assertEquals(ta.encode(p), tb.encode(p), p);
    }

    @Test
    void mergesWrittenAsStringsEqualMergesWrittenAsArrays(@TempDir Path dir) throws IOException {
        Path source = TokenizerTestFolders.tokenizerJsonLayout();
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(source.resolve("tokenizer.json").toFile());
        ArrayNode merges = (ArrayNode) root.get("model").get("merges");
        assertTrue(merges.get(0).isArray(), "the bundled file uses the array notation");
        ArrayNode strings = json.createArrayNode();
        merges.forEach(m -> strings.add(m.get(0).asText() + " " + m.get(1).asText()));
        ((ObjectNode) root.get("model")).set("merges", strings);
        Path folder = TokenizerTestFolders.copyOf(source, dir.resolve("tok"), "tokenizer_config.json");
        json.writeValue(folder.resolve("tokenizer.json").toFile(), root);

        ClipTokenizer arrays = ClipTokenizer.fromFolder(source), fromStrings = ClipTokenizer.fromFolder(folder);
        for (String p : PROMPTS) assertEquals(arrays.encode(p), fromStrings.encode(p), p);
    }

    @Test
    void specialTokensMapOverridesConfigAndAcceptsAddedTokenObjects(@TempDir Path dir) throws IOException {
        Path folder = TokenizerTestFolders.copyOf(TokenizerTestFolders.vocabMergesLayout(), dir.resolve("tok"),
                "vocab.json", "merges.txt", "tokenizer_config.json");
        Files.writeString(folder.resolve("special_tokens_map.json"),
                "{\"pad_token\": {\"content\": \"!\", \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false}}");
        TokenizerDefinition d = TokenizerFolderReader.read(folder);
        assertEquals("!", d.padToken());
        assertEquals("<|endoftext|>", d.eosToken());
        assertTrue(d.addedTokens().contains("!"));
    }

    @Test
    void folderWithoutVocabularyNamesTheExpectedFiles(@TempDir Path dir) {
        var e = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(dir));
        assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("vocab.json"), e.getMessage());
        var missing = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(dir.resolve("nope")));
        assertTrue(missing.getMessage().contains("not a directory"), missing.getMessage());
    }

    @Test
    void missingMergesOrConfigIsNamed(@TempDir Path dir) {
        Path src = TokenizerTestFolders.vocabMergesLayout();
        Path noMerges = TokenizerTestFolders.copyOf(src, dir.resolve("a"), "vocab.json", "tokenizer_config.json");
        var e1 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(noMerges));
        assertTrue(e1.getMessage().contains("missing: merges.txt"), e1.getMessage());
        Path noConfig = TokenizerTestFolders.copyOf(src, dir.resolve("b"), "vocab.json", "merges.txt");
        var e2 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(noConfig));
        assertEquals(noConfig.resolve("tokenizer_config.json"), e2.file());
    }

    @Test
    void malformedFilesAreNamedWithTheProblem(@TempDir Path dir) throws IOException {
        Path src = TokenizerTestFolders.vocabMergesLayout();

        Path badJson = TokenizerTestFolders.copyOf(src, dir.resolve("a"), "merges.txt", "tokenizer_config.json");
        Files.writeString(badJson.resolve("vocab.json"), "{\"a\": 1,");
        var e1 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(badJson));
        assertEquals(badJson.resolve("vocab.json"), e1.file());
        assertTrue(e1.getMessage().contains("malformed JSON"), e1.getMessage());

        Path badMerge = TokenizerTestFolders.copyOf(src, dir.resolve("b"), "vocab.json", "tokenizer_config.json");
        Files.writeString(badMerge.resolve("merges.txt"), "#version: 0.2\ni n\nt h e\n");
        var e2 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(badMerge));
        assertTrue(e2.getMessage().contains("merges.txt: line 3"), e2.getMessage());

        Path unknownMerge = TokenizerTestFolders.copyOf(src, dir.resolve("c"), "vocab.json", "tokenizer_config.json");
        Files.writeString(unknownMerge.resolve("merges.txt"), "#version: 0.2\ni n\nq zz\n");
        var e3 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(unknownMerge));
        assertTrue(e3.getMessage().contains("not in the vocabulary"), e3.getMessage());

        Path badConfig = TokenizerTestFolders.copyOf(src, dir.resolve("d"), "vocab.json", "merges.txt");
        Files.writeString(badConfig.resolve("tokenizer_config.json"), "{\"pad_token\": \"<|endoftext|>\"}");
        var e4 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(badConfig));
        assertTrue(e4.getMessage().contains("model_max_length"), e4.getMessage());

        Files.writeString(badConfig.resolve("tokenizer_config.json"), "{\"model_max_length\": 77, \"pad_token\": \"<pad>\"}");
        var e5 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(badConfig));
        assertTrue(e5.getMessage().contains("pad_token '<pad>' is not in the vocabulary"), e5.getMessage());

        Files.writeString(badConfig.resolve("tokenizer_config.json"), "{\"model_max_length\": 77, \"pad_token\": 5}");
        var e6 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(badConfig));
        assertTrue(e6.getMessage().contains("pad_token must be a string"), e6.getMessage());
    }

    @Test
    void outOfRangeIdsAreFileErrorsNotHugeTables(@TempDir Path dir) throws IOException {
        Path folder = TokenizerTestFolders.copyOf(TokenizerTestFolders.vocabMergesLayout(), dir.resolve("t"), "tokenizer_config.json");
        Files.writeString(folder.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 2000000000}, \"merges\": []}}");
        var e = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(folder));
        assertEquals(folder.resolve("tokenizer.json"), e.file());
        assertTrue(e.getMessage().contains("vocabulary id of 'b' must be in 0.."), e.getMessage());

        Files.writeString(folder.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
                + " \"added_tokens\": [{\"content\": \"<x>\", \"id\": -3}]}");
        var e2 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(folder));
        assertTrue(e2.getMessage().contains("added_tokens id of '<x>' must be in 0.."), e2.getMessage());
    }

    @Test
    void anAbsurdModelMaxLengthIsAFileErrorNotAHugeAllocation(@TempDir Path dir) throws IOException {
        Path folder = TokenizerTestFolders.copyOf(TokenizerTestFolders.vocabMergesLayout(), dir.resolve("t"), "vocab.json", "merges.txt");
        Path config = Files.writeString(folder.resolve("tokenizer_config.json"), "{\"model_max_length\": 2147483647}");
        var e = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(folder).encode("a fox"));
        assertEquals(config, e.file());
        assertTrue(e.getMessage().contains("'model_max_length' must be an integer in 2..65536") && e.getMessage().endsWith("got 2147483647"), e.getMessage());
    }

    @Test
    void tokenizerJsonWithWrongModelIsRejected(@TempDir Path dir) throws IOException {
        Path folder = TokenizerTestFolders.copyOf(TokenizerTestFolders.vocabMergesLayout(), dir.resolve("t"), "tokenizer_config.json");
        Files.writeString(folder.resolve("tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}");
        var e = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(folder));
        assertTrue(e.getMessage().contains("tokenizer.json: model.type must be BPE"), e.getMessage());
        Files.writeString(folder.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [[\"a\"]]}}");
        var e2 = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromFolder(folder));
        assertTrue(e2.getMessage().contains("model.merges[0]"), e2.getMessage());
    }
}
