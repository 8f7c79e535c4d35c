package dev.i2vgen.io.tokenizer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Encoding rules of spec §1.3 (fast flavour unless stated): specials, padding, truncation, text handling, decode. */
class ClipTokenizerBehaviourTest {
    private static final int BOS = 49406, EOS = 49407;
    private static ClipTokenizer tok;

    @BeforeAll
    static void load() {
        tok = ClipTokenizer.fromFolder(TokenizerTestFolders.vocabMergesLayout());
    }

    private int id(String token) {
        int[] ids = IntStream.range(0, tok.vocabSize()).filter(i -> tok.tokenOf(i).equals(token)).toArray();
        assertEquals(1, ids.length, "token " + token);
        return ids[0];
    }

    @Test
    void specialIdsAndLengthFromConfig() {
        assertEquals(BOS, tok.bosId());
        assertEquals(EOS, tok.eosId());
        assertEquals(EOS, tok.padId());
        assertEquals(EOS, tok.unkId());
        assertEquals(77, tok.maxLength());
        assertEquals(49408, tok.vocabSize());
        assertEquals("<|startoftext|>", tok.tokenOf(BOS));
        assertThrows(IllegalArgumentException.class, () -> tok.tokenOf(49408));
    }

    @Test
    void emptyPromptIsBosThenEosPadding() {
        TokenizedText t = tok.encode("");
        int[] expected = new int[77];
        Arrays.fill(expected, EOS);
        expected[0] = BOS;
        assertArrayEquals(expected, t.inputIds());
        assertEquals(2, t.realLength());
        assertEquals(1, t.attentionMask()[1]);
        assertEquals(0, t.attentionMask()[2]);
        assertArrayEquals(new int[] {BOS, EOS}, tok.encodeUnpadded("").inputIds());
        assertArrayEquals(tok.encode("").inputIds(), tok.encode(" \t\n ").inputIds(), "whitespace only = empty");
    }

    @Test
    void overLongPromptKeeps75TokensAndEndsWithEos() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 100; i++) sb.append("word").append(i % 10).append(' ');
        String prompt = sb.toString();
        int[] unpadded = tok.encodeUnpadded(prompt).inputIds();
        assertEquals(2 + 200, unpadded.length, "word + single digit = 2 tokens per item, no truncation");
        TokenizedText t = tok.encode(prompt);
        assertEquals(77, t.length());
        assertEquals(77, t.realLength());
        assertEquals(EOS, t.inputIds()[76]);
        assertArrayEquals(Arrays.copyOfRange(unpadded, 0, 76), Arrays.copyOfRange(t.inputIds(), 0, 76));
        // The text diffusers warns about: ids between position 76 and the final eos.
        String removed = tok.decode(Arrays.copyOfRange(unpadded, 76, unpadded.length - 1));
        assertTrue(removed.startsWith("7 word 8 word 9 word 0"), removed);
        assertTrue(removed.endsWith("word 9"), removed);
    }

    @Test
    void whitespaceRunsAndCaseDoNotMatter() {
        assertArrayEquals(tok.encode("a photo of a cat").inputIds(),
                tok.encode("  A\tPHOTO \n\n of\u00A0a\u3000Cat   ").inputIds());
    }

    @Test
    void digitsAreSingleTokensAndPunctuationRunsStayTogether() {
        assertEquals(List.of("1</w>", "2</w>", "3</w>", "4</w>", "5</w>", "6</w>", "7</w>", "8</w>", "9</w>", "0</w>"),
                tok.tokens("1234567890"));
        assertEquals(List.of("a</w>", "1</w>", "b</w>", "2</w>"), tok.tokens("a1b2"));
        assertEquals(List.of("hello</w>", ",</w>", "world</w>", "!!</w>"), tok.tokens("hello,world!!"));
        assertEquals(List.of("it</w>", "'s</w>", "''</w>", "s</w>"), tok.tokens("it's ''s"));
    }

    @Test
    void unicodeTextIsNfcNormalisedAndByteEncoded() {
        // Decomposed é (e + U+0301) and precomposed é give the same ids.
        assertArrayEquals(tok.encode("caf\u00E9").inputIds(), tok.encode("cafe\u0301").inputIds());
        // Accents are kept (no accent stripping).
        assertNotEquals(Arrays.toString(tok.encode("resume").inputIds()), Arrays.toString(tok.encode("résumé").inputIds()));
        // Emoji: one symbol-run word, 4 UTF-8 bytes, merged into one token here.
        assertEquals(List.of("ðŁĻĤ</w>"), tok.tokens("\uD83D\uDE42"));
        // CJK (fast flavour): one letter run, not isolated per character.
        assertEquals(List.of("æĿ±", "äº", "¬</w>"), tok.tokens("東京"));
        assertEquals("東京 crème brûlée 🙂 ✓", tok.decode(tok.contentIds("東京 Crème Brûlée 🙂 ✓")));
    }

    @Test
    void literalSpecialTokensInText() {
        assertArrayEquals(new int[] {BOS, id("a</w>"), EOS, id("b</w>"), EOS}, tok.encodeUnpadded("a<|endoftext|>b").inputIds());
        assertArrayEquals(new int[] {BOS, BOS, EOS}, tok.encodeUnpadded("<|startoftext|>").inputIds());
        // Upper case is not the literal token: the fast tokenizer lower-cases and byte-level splits it into 3 words.
        int[] upper = tok.contentIds("<|ENDOFTEXT|>");
        int[] parts = IntStream.concat(IntStream.concat(Arrays.stream(tok.contentIds("<|")), Arrays.stream(tok.contentIds("endoftext"))),
                Arrays.stream(tok.contentIds("|>"))).toArray();
        assertArrayEquals(parts, upper);
        assertFalse(Arrays.stream(upper).anyMatch(i -> i == EOS));
        // … while the slow tokenizer keeps the lower-cased match whole.
        ClipTokenizer slow = ClipTokenizer.fromFolder(TokenizerTestFolders.vocabMergesLayout(), TokenizerFlavor.SLOW);
        assertArrayEquals(new int[] {EOS}, slow.contentIds("<|ENDOFTEXT|>"));
    }

    @Test
    void decodeReadsTokensBack() {
        assertEquals("<|startoftext|>a photo of a cat <|endoftext|>", tok.decode(tok.encodeUnpadded("A photo of a CAT").inputIds()));
        assertEquals("don 't stop !!", tok.decode(tok.contentIds("Don't STOP!!")));
        // Half of a multi-byte character decodes to the replacement character.
        int[] euro = tok.contentIds("€");
        assertEquals("\uFFFD", tok.decode(new int[] {id("âĤ")}));
        assertEquals("€", tok.decode(euro));
    }

    @Test
    void exclamationMarkPadVariant(@TempDir Path dir) throws IOException {
        Path folder = TokenizerTestFolders.copyOf(TokenizerTestFolders.vocabMergesLayout(), dir.resolve("tok"),
                "vocab.json", "merges.txt");
        Files.writeString(folder.resolve("tokenizer_config.json"),
                "{\"model_max_length\": 77, \"pad_token\": \"!\", \"bos_token\": \"<|startoftext|>\", \"eos_token\": \"<|endoftext|>\"}");
        ClipTokenizer sd2 = ClipTokenizer.fromFolder(folder);
        assertEquals(0, sd2.padId());
        TokenizedText t = sd2.encode("a cat");
        int[] expected = new int[77];
        System.arraycopy(new int[] {BOS, id("a</w>"), id("cat</w>"), EOS}, 0, expected, 0, 4);
        assertArrayEquals(expected, t.inputIds());
        assertEquals(4, t.realLength());
        assertEquals(0, t.attentionMask()[4]);
        // transformers registers every named special token as an added token, so '!' is matched literally.
        assertArrayEquals(new int[] {id("wow</w>"), 0, 0}, sd2.contentIds("wow!!"));
        assertArrayEquals(new int[] {id("wow</w>"), id("!!</w>")}, tok.contentIds("wow!!"));
    }

    @Test
    void encodingIsThreadSafe() {
        List<String> prompts = IntStream.range(0, 400).mapToObj(i -> "prompt number " + i + " with words w" + (i * 7919 % 1000) + " é😀" + i).toList();
        ClipTokenizer fresh = ClipTokenizer.fromFolder(TokenizerTestFolders.vocabMergesLayout());
        List<TokenizedText> parallel = prompts.parallelStream().map(fresh::encode).toList();
        List<TokenizedText> sequential = prompts.stream().map(tok::encode).toList();
        assertEquals(sequential, parallel);
    }

    @Test
    void nullTextIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> tok.encode(null));
    }
}
