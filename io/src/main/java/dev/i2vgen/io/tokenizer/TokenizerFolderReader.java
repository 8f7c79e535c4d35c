package dev.i2vgen.io.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.i2vgen.io.MessageText;
import dev.i2vgen.io.Utf8Text;
import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.io.config.JsonConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a Hugging Face CLIP tokenizer folder in either layout:
 * <ul>
 *   <li>{@code tokenizer.json} (what transformers 5 writes; preferred when present, as transformers does):
 *       {@code model.vocab}, {@code model.merges} (strings {@code "a b"} or 2-element arrays), {@code added_tokens};</li>
 *   <li>{@code vocab.json} + {@code merges.txt} (the released ali-vilab/i2vgen-xl layout).</li>
 * </ul>
 * plus {@code tokenizer_config.json} (required: {@code model_max_length}; special tokens, {@code added_tokens_decoder})
 * and the optional {@code special_tokens_map.json}, whose entries override the config's. Special tokens not given
 * fall back to transformers' {@code CLIPTokenizer} defaults.
 */
public final class TokenizerFolderReader {
    static final String TOKENIZER_JSON = "tokenizer.json";
    static final String VOCAB_JSON = "vocab.json";
    static final String MERGES_TXT = "merges.txt";
    static final String CONFIG_JSON = "tokenizer_config.json";
    static final String SPECIAL_TOKENS_JSON = "special_tokens_map.json";

    /**
     * The padded length is allocated for every prompt: bound it far above any CLIP text encoder's positions (77), so
     * that a config claiming billions is a file error, not an OutOfMemoryError at the first prompt.
     */
    static final int MAX_MODEL_LENGTH = 1 << 16;

    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerFolderReader() {}

    public static TokenizerDefinition read(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new TokenizerFormatException(folder, "not a directory (expected a tokenizer folder)");
        }
        Map<String, Integer> vocab = new HashMap<>();
        List<String[]> merges = new ArrayList<>();
        Set<String> addedTokens = new LinkedHashSet<>();

        Path tokenizerJson = folder.resolve(TOKENIZER_JSON);
        if (vocabularyFile(folder).equals(tokenizerJson)) {
            readTokenizerJson(tokenizerJson, vocab, merges, addedTokens);
        } else {
            Path vocabJson = folder.resolve(VOCAB_JSON);
            Path mergesTxt = folder.resolve(MERGES_TXT);
            if (!Files.isRegularFile(vocabJson) || !Files.isRegularFile(mergesTxt)) {
                throw new TokenizerFormatException(folder, "expected " + TOKENIZER_JSON + ", or " + VOCAB_JSON
                        + " and " + MERGES_TXT + " (missing: " + (Files.isRegularFile(vocabJson) ? MERGES_TXT : VOCAB_JSON) + ")");
            }
            readVocab(vocabJson, parse(vocabJson), vocab);
            readMergesTxt(mergesTxt, merges);
            checkMerges(mergesTxt, vocab, merges);
        }

        Path configPath = folder.resolve(CONFIG_JSON);
        if (!Files.isRegularFile(configPath)) {
            throw new TokenizerFormatException(configPath, "missing (needed for model_max_length and the special tokens)");
        }
        JsonNode config = parse(configPath);
        int maxLength = maxLength(configPath, new JsonConfig(config, configPath.toString()));
        JsonNode addedDecoder = config.path("added_tokens_decoder");
        addedDecoder.properties().forEach(entry -> {
            String content = tokenText(configPath, "added_tokens_decoder." + entry.getKey(), entry.getValue());
            addedTokens.add(content);
            int id;
            try {
                id = Integer.parseInt(entry.getKey());
            } catch (NumberFormatException e) {
                throw new TokenizerFormatException(configPath, "added_tokens_decoder key '" + entry.getKey() + "' is not an id");
            }
            vocab.putIfAbsent(content, checkedId(configPath, "added_tokens_decoder key", id));
        });

        Map<String, String> specials = new HashMap<>(Map.of(
                "bos_token", ClipPreTokenizer.START_OF_TEXT, "eos_token", ClipPreTokenizer.END_OF_TEXT,
                "unk_token", ClipPreTokenizer.END_OF_TEXT, "pad_token", ClipPreTokenizer.END_OF_TEXT));
        readSpecials(configPath, config, specials);
        Path specialMapPath = folder.resolve(SPECIAL_TOKENS_JSON);
        if (Files.isRegularFile(specialMapPath)) readSpecials(specialMapPath, parse(specialMapPath), specials);

        for (var entry : specials.entrySet()) {
            if (!vocab.containsKey(entry.getValue())) {
                throw new TokenizerFormatException(folder, entry.getKey() + " '" + entry.getValue()
                        + "' is not in the vocabulary");
            }
            // transformers adds every named special token to the added vocabulary: it is matched literally.
            addedTokens.add(entry.getValue());
        }
        return new TokenizerDefinition(vocab, merges, specials.get("bos_token"), specials.get("eos_token"),
                specials.get("unk_token"), specials.get("pad_token"), List.copyOf(addedTokens), maxLength);
    }

    /** Where the vocabulary of {@code folder} is read from: {@code tokenizer.json} when present, else {@code vocab.json}. */
    public static Path vocabularyFile(Path folder) {
        Path tokenizerJson = folder.resolve(TOKENIZER_JSON);
        return Files.isRegularFile(tokenizerJson) ? tokenizerJson : folder.resolve(VOCAB_JSON);
    }

    /** The padded length of every encoding; bounded because encode() allocates it (1e30 means "no limit" to transformers). */
    static final int MAX_MODEL_MAX_LENGTH = 1 << 16;

    /** {@code model_max_length}: required, an integer in 2..{@link #MAX_MODEL_MAX_LENGTH} (bos and eos fit). */
    private static int maxLength(Path file, JsonConfig config) {
        try {
            config.requireKey("model_max_length");
            int v = config.getInt("model_max_length", 0);
            config.require(v >= 2 && v <= MAX_MODEL_MAX_LENGTH, "model_max_length",
                    "must be an integer in 2.." + MAX_MODEL_MAX_LENGTH + " (the padded length, bos and eos included), got " + v);
            return v;
        } catch (ConfigProblem e) {
            throw new TokenizerFormatException(file, "'" + e.key() + "' " + e.detail(), e);
        }
    }

    private static JsonNode parse(Path file) {
        try {
            JsonNode node = JSON.readTree(Files.readAllBytes(file));
            if (node == null || !node.isObject()) throw new TokenizerFormatException(file, "expected a JSON object");
            return node;
        } catch (JacksonException e) {
            throw new TokenizerFormatException(file, "malformed JSON: " + MessageText.reason(e), e);
        } catch (IOException e) {
            throw new TokenizerFormatException(file, "cannot read: " + MessageText.reason(e), e);
        }
    }

    /** A JSON integer that fits an int: 3.5 or "3" are not ids. */
    private static boolean isInt(JsonNode n) { return n.isIntegralNumber() && n.canConvertToInt(); }

    private static void readTokenizerJson(Path file, Map<String, Integer> vocab, List<String[]> merges, Set<String> added) {
        JsonNode root = parse(file);
        JsonNode model = root.path("model");
        if (!model.path("type").asText("BPE").equals("BPE")) {
            throw new TokenizerFormatException(file, "model.type must be BPE, got " + model.path("type"));
        }
        String suffix = model.path("end_of_word_suffix").asText(BytePairEncoder.END_OF_WORD);
        if (!suffix.equals(BytePairEncoder.END_OF_WORD)) {
            throw new TokenizerFormatException(file, "model.end_of_word_suffix must be '</w>' (CLIP), got '" + suffix + "'");
        }
        readVocab(file, model.path("vocab"), vocab);
        JsonNode mergeList = model.path("merges");
        if (!mergeList.isArray()) throw new TokenizerFormatException(file, "model.merges must be an array");
        for (int i = 0; i < mergeList.size(); i++) {
            JsonNode m = mergeList.get(i);
            String[] pair;
            if (m.isTextual()) {
                pair = m.asText().split(" ", -1);
            } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                pair = new String[] {m.get(0).asText(), m.get(1).asText()};
            } else {
                pair = null;
            }
            if (pair == null || pair.length != 2 || pair[0].isEmpty() || pair[1].isEmpty()) {
                throw new TokenizerFormatException(file, "model.merges[" + i + "] must be \"left right\" or [left, right], got " + m);
            }
            merges.add(pair);
        }
        checkMerges(file, vocab, merges);
        for (JsonNode token : root.path("added_tokens")) {
            String content = token.path("content").asText(null);
            if (content == null || !isInt(token.path("id"))) {
                throw new TokenizerFormatException(file, "added_tokens entry needs content and id, got " + token);
            }
            added.add(content);
            vocab.putIfAbsent(content, checkedId(file, "added_tokens id of '" + content + "'", token.path("id").asInt()));
        }
    }

    /** Ids index the decoder's table: negative or absurdly large ones (no CLIP vocabulary nears 2^24) are file errors. */
    private static final int MAX_TOKEN_ID = 1 << 24;

    private static int checkedId(Path file, String what, int id) {
        if (id < 0 || id >= MAX_TOKEN_ID) {
            throw new TokenizerFormatException(file, what + " must be in 0.." + (MAX_TOKEN_ID - 1) + ", got " + id);
        }
        return id;
    }

    private static void readVocab(Path file, JsonNode node, Map<String, Integer> vocab) {
        if (!node.isObject() || node.isEmpty()) {
            throw new TokenizerFormatException(file, "vocabulary must be a non-empty object token → id");
        }
        node.properties().forEach(e -> {
            if (!isInt(e.getValue())) {
                throw new TokenizerFormatException(file, "vocabulary id of '" + e.getKey() + "' must be an integer, got " + e.getValue());
            }
            vocab.put(e.getKey(), checkedId(file, "vocabulary id of '" + e.getKey() + "'", e.getValue().asInt()));
        });
    }

    /** One merge per line, {@code left right}; an optional first line {@code #version: …} is a header. */
    private static void readMergesTxt(Path file, List<String[]> merges) {
        List<String> lines;
        try {
            lines = Utf8Text.read(file).lines().toList();
        } catch (IOException e) {
            throw new TokenizerFormatException(file, "cannot read: " + MessageText.reason(e), e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if ((i == 0 && line.startsWith("#version")) || line.isEmpty()) continue;
            String[] pair = line.split(" ", -1);
            if (pair.length != 2 || pair[0].isEmpty() || pair[1].isEmpty()) {
                throw new TokenizerFormatException(file, "line " + (i + 1) + ": expected 'left right', got '" + line + "'");
            }
            merges.add(pair);
        }
        if (merges.isEmpty()) throw new TokenizerFormatException(file, "no merges");
    }

    /** A merge whose parts or result are not tokens means vocabulary and merges do not belong together. */
    private static void checkMerges(Path file, Map<String, Integer> vocab, List<String[]> merges) {
        for (int i = 0; i < merges.size(); i++) {
            String[] m = merges.get(i);
            for (String token : new String[] {m[0], m[1], m[0] + m[1]}) {
                if (!vocab.containsKey(token)) {
                    throw new TokenizerFormatException(file, "merge " + i + " '" + m[0] + " " + m[1]
                            + "' uses or makes '" + token + "', which is not in the vocabulary");
                }
            }
        }
    }

    private static void readSpecials(Path file, JsonNode node, Map<String, String> specials) {
        for (String key : List.of("bos_token", "eos_token", "unk_token", "pad_token")) {
            JsonNode value = node.get(key);
            if (value != null && !value.isNull()) specials.put(key, tokenText(file, key, value));
        }
    }

    /** A token is written either as a string or as an AddedToken object with "content". */
    private static String tokenText(Path file, String key, JsonNode value) {
        if (value.isTextual()) return value.asText();
        if (value.isObject() && value.path("content").isTextual()) return value.path("content").asText();
        throw new TokenizerFormatException(file, key + " must be a string or an object with \"content\", got " + value);
    }
}
