package dev.i2vgen.io.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every case of {@code clip_tokenizer_test_vectors.json} (ids and masks of transformers 5.17's CLIPTokenizer,
 * plus the slow tokenizer's ids where the two differ), in both folder layouts.
 */
class ClipTokenizerVectorsTest {
    private static ClipTokenizer fastFromVocabMerges, fastFromTokenizerJson, slow;

    @BeforeAll
    static void load() {
        fastFromVocabMerges = ClipTokenizer.fromFolder(TokenizerTestFolders.vocabMergesLayout());
        fastFromTokenizerJson = ClipTokenizer.fromFolder(TokenizerTestFolders.tokenizerJsonLayout());
        slow = ClipTokenizer.fromFolder(TokenizerTestFolders.vocabMergesLayout(), TokenizerFlavor.SLOW);
    }

    static Stream<JsonNode> cases() throws IOException {
        try (InputStream in = ClipTokenizerVectorsTest.class.getResourceAsStream("/tokenizer/clip_tokenizer_test_vectors.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            List<JsonNode> cases = new ArrayList<>();
            root.get("cases").forEach(cases::add);
            assertEquals(11, cases.size(), "test vector count");
            return cases.stream();
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("cases")
    void fastTokenizerMatchesTransformers(JsonNode c) {
        String prompt = c.get("prompt").asText();
        int[] ids = ints(c.get("input_ids"));
        int[] mask = ints(c.get("attention_mask"));
        for (ClipTokenizer t : List.of(fastFromVocabMerges, fastFromTokenizerJson)) {
            TokenizedText out = t.encode(prompt);
            assertArrayEquals(ids, out.inputIds(), "input_ids of " + prompt);
            assertArrayEquals(mask, out.attentionMask(), "attention_mask of " + prompt);
        }
        JsonNode tokens = c.get("tokens");
        if (tokens != null) {
            List<String> expected = new ArrayList<>();
            tokens.forEach(tk -> expected.add(tk.asText()));
            List<String> actual = new ArrayList<>();
            int[] ids77 = fastFromVocabMerges.encode(prompt).inputIds();
            for (int i = 0; i < expected.size(); i++) actual.add(fastFromVocabMerges.tokenOf(ids77[i]));
            assertEquals(expected, actual, "token strings of " + prompt);
        }
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("cases")
    void slowTokenizerMatchesItsReference(JsonNode c) {
        String prompt = c.get("prompt").asText();
        // Where the slow algorithm differs the file gives its ids separately; elsewhere both agree.
        JsonNode ids = c.has("slow_input_ids") ? c.get("slow_input_ids") : c.get("input_ids");
        JsonNode mask = c.has("slow_attention_mask") ? c.get("slow_attention_mask") : c.get("attention_mask");
        TokenizedText out = slow.encode(prompt);
        assertArrayEquals(ints(ids), out.inputIds(), "slow input_ids of " + prompt);
        assertArrayEquals(ints(mask), out.attentionMask(), "slow attention_mask of " + prompt);
        // n_real in the file counts the slow tokenizer's real positions (it differs from the fast mask in case 11).
        assertEquals(c.get("n_real").asInt(), out.realLength());
    }
}
