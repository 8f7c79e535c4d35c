package dev.i2vgen.io.tokenizer;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing (Jazzer) of the CLIP tokenizer: folder reading in both layouts, then encoding and decoding a
 * prompt. Whatever the files hold, reading fails with {@link TokenizerFormatException} naming a file of the folder in
 * one line, or gives a tokenizer that encodes any prompt to {@code maxLength} known ids. Anything else is a finding.
 *
 * <p>An input is the prompt and then the folder's files, separated by NUL bytes, the files in the order of the target's
 * {@code PARTS}; a missing part is a missing file. The seeds are a small tokenizer cut from
 * the tiny checkpoint's; past findings live in {@code TokenizerGuidedFuzzTestInputs/<method>}.
 */
class TokenizerGuidedFuzzTest {
    private static final List<String> VOCAB_AND_MERGES_PARTS = List.of(TokenizerFolderReader.VOCAB_JSON,
            TokenizerFolderReader.MERGES_TXT, TokenizerFolderReader.CONFIG_JSON, TokenizerFolderReader.SPECIAL_TOKENS_JSON);
    private static final List<String> TOKENIZER_JSON_PARTS = List.of(TokenizerFolderReader.TOKENIZER_JSON,
            TokenizerFolderReader.CONFIG_JSON, TokenizerFolderReader.SPECIAL_TOKENS_JSON);
    /** Enough merges to build whole words of the seed prompts, few enough to keep inputs small (≈ 3 kB). */
    private static final int SEED_MERGES = 80;
    private static final String[] SEED_PROMPTS = {"a red fox jumps over a frozen lake", "<|startoftext|>in the  THE\tthé 123!"};
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir static Path dir;

    /** Keys and values the reader gives meaning to, and extreme ids and lengths, which mutation alone rarely spells. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @DictionaryEntries({"\"model_max_length\"", "\"added_tokens_decoder\"", "\"added_tokens\"", "\"bos_token\"",
            "\"eos_token\"", "\"unk_token\"", "\"pad_token\"", "\"content\"", "\"id\"", "\"model\"", "\"vocab\"",
            "\"merges\"", "\"type\"", "\"BPE\"", "\"end_of_word_suffix\"", "#version: 0.2", "</w>", "<|startoftext|>",
            "<|endoftext|>", "2147483647", "16777215", "16777216", "-1", "null", "1e30"})
    @interface TokenizerFileWords {}

    static Stream<byte[]> vocabAndMergesSeeds() throws IOException {
        SmallTokenizer t = SmallTokenizer.fromTinyCheckpoint();
        String config = "{\"model_max_length\": 77, \"bos_token\": \"<|startoftext|>\", \"eos_token\": \"<|endoftext|>\"}";
        return Stream.of(SEED_PROMPTS).map(prompt -> joined(prompt, t.vocabJson(), t.mergesTxt(), config));
    }

    @TokenizerFileWords
    @MethodSource("vocabAndMergesSeeds")
    @FuzzTest(maxDuration = "45s")
    void vocabAndMergesFolderReadsOrFailsNamingAFile(byte[] input) throws IOException {
        Path folder = folder("vocab-merges");
        String prompt = writeParts(folder, input, VOCAB_AND_MERGES_PARTS);
        readAndEncode(folder, prompt);
    }

    static Stream<byte[]> tokenizerJsonSeeds() throws IOException {
        SmallTokenizer t = SmallTokenizer.fromTinyCheckpoint();
        String config = "{\"model_max_length\": 16, \"pad_token\": \"!\"}";
        return Stream.of(SEED_PROMPTS).map(prompt -> joined(prompt, t.tokenizerJson(), config));
    }

    @TokenizerFileWords
    @MethodSource("tokenizerJsonSeeds")
    @FuzzTest(maxDuration = "45s")
    void tokenizerJsonFolderReadsOrFailsNamingAFile(byte[] input) throws IOException {
        Path folder = folder("tokenizer-json");
        String prompt = writeParts(folder, input, TOKENIZER_JSON_PARTS);
        readAndEncode(folder, prompt);
    }

    private static void readAndEncode(Path folder, String prompt) {
        ClipTokenizer tokenizer;
        try {
            tokenizer = ClipTokenizer.fromFolder(folder);
        } catch (TokenizerFormatException e) {
            assertTrue(e.file().startsWith(folder), e.getMessage());
            assertTrue(e.getMessage().startsWith(e.file() + ": ") && e.getMessage().length() > e.file().toString().length() + 2, e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
            return;
        }
        int[] ids = tokenizer.encode(prompt).inputIds();
        assertEquals(tokenizer.maxLength(), ids.length);
        assertEquals(tokenizer.bosId(), ids[0]);
        for (int id : ids) tokenizer.tokenOf(id);
        tokenizer.decode(tokenizer.contentIds(prompt));
    }

    /** Writes the parts after the prompt as the named files (a missing part: no file) and returns the prompt. */
    private static String writeParts(Path folder, byte[] input, List<String> names) throws IOException {
        List<byte[]> parts = split(input, names.size() + 1);
        for (int i = 0; i < names.size(); i++) {
            Path f = folder.resolve(names.get(i));
            if (i + 1 < parts.size()) Files.write(f, parts.get(i + 1)); else Files.deleteIfExists(f);
        }
        return new String(parts.getFirst(), StandardCharsets.UTF_8);
    }

    /** The input cut at its first {@code limit − 1} NUL bytes. */
    private static List<byte[]> split(byte[] input, int limit) {
        List<byte[]> parts = new java.util.ArrayList<>();
        int start = 0;
        for (int i = 0; i < input.length && parts.size() < limit - 1; i++) {
            if (input[i] == 0) {
                parts.add(Arrays.copyOfRange(input, start, i));
                start = i + 1;
            }
        }
        parts.add(Arrays.copyOfRange(input, start, input.length));
        return parts;
    }

    private static byte[] joined(String... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) out.write(0);
            out.writeBytes(parts[i].getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    private static Path folder(String name) throws IOException {
        return Files.createDirectories(dir.resolve(name));
    }

    /** The first {@link #SEED_MERGES} merges of the tiny checkpoint's tokenizer, the tokens they use and make, the specials. */
    private record SmallTokenizer(Map<String, Integer> vocab, List<String> merges) {
        static SmallTokenizer fromTinyCheckpoint() throws IOException {
            Path source = TokenizerTestFolders.vocabMergesLayout();
            Map<String, Integer> full = JSON.readValue(source.resolve(TokenizerFolderReader.VOCAB_JSON).toFile(),
                    JSON.getTypeFactory().constructMapType(Map.class, String.class, Integer.class));
            List<String> merges = Files.readAllLines(source.resolve(TokenizerFolderReader.MERGES_TXT)).stream()
                    .filter(l -> !l.startsWith("#")).limit(SEED_MERGES).toList();
            Map<String, Integer> vocab = new LinkedHashMap<>();
            for (String m : merges) {
                String[] pair = m.split(" ");
                for (String token : new String[] {pair[0], pair[1], pair[0] + pair[1]}) vocab.put(token, full.get(token));
            }
            for (String special : new String[] {"<|startoftext|>", "<|endoftext|>", "!"}) vocab.put(special, full.get(special));
            return new SmallTokenizer(vocab, merges);
        }

        String vocabJson() { return write(JSON.valueToTree(vocab)); }

        String mergesTxt() { return "#version: 0.2\n" + String.join("\n", merges) + "\n"; }

        String tokenizerJson() {
            ObjectNode root = JSON.createObjectNode();
            ObjectNode model = root.putObject("model").put("type", "BPE").put("end_of_word_suffix", "</w>");
            model.set("vocab", JSON.valueToTree(vocab));
            ArrayNode mergeList = model.putArray("merges");
            for (int i = 0; i < merges.size(); i++) {
                String[] pair = merges.get(i).split(" ");
                if (i % 2 == 0) mergeList.add(merges.get(i)); else mergeList.addArray().add(pair[0]).add(pair[1]); // both spellings
            }
            ArrayNode added = root.putArray("added_tokens");
            for (String special : new String[] {"<|startoftext|>", "<|endoftext|>"}) added.addObject().put("id", vocab.get(special)).put("content", special);
            return write(root);
        }

        private static String write(Object json) {
            try {
                return JSON.writeValueAsString(json);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
