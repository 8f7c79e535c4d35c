package dev.i2vgen.io.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.i2vgen.io.MessageText;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * Typed reads of a JSON config file ({@code config.json}, {@code preprocessor_config.json},
 * {@code tokenizer_config.json}, {@code model_index.json}) with the library defaults for absent (or null) keys.
 * A key of the wrong type or out of range is a {@link ConfigProblem} naming the file and the key
 * ("FILE: 'key' must be ..., got ..."), never a silent default and never a later "/ by zero".
 */
public final class JsonConfig {
    /** Strict: trailing garbage after the JSON value and duplicate keys are errors, not silently ignored. */
    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final JsonNode node;
    private final String source;
    /** Prepended to every key in messages: "crop_size." for the object under "crop_size". */
    private final String keyPrefix;

    public JsonConfig(JsonNode node, String source) { this(node, source, ""); }

    private JsonConfig(JsonNode node, String source, String keyPrefix) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(source + ": " + (keyPrefix.isEmpty() ? "config" : "'" + keyPrefix.substring(0, keyPrefix.length() - 1) + "'")
                    + " must be a JSON object, got " + (node == null ? "nothing" : abbreviated(node)));
        }
        this.node = node;
        this.source = source;
        this.keyPrefix = keyPrefix;
    }

    /** Parses {@code file}; malformed JSON is an {@link IllegalArgumentException}, a read failure says why. */
    public static JsonConfig read(Path file) {
        return new JsonConfig(readTree(file), file.toString());
    }

    /** The parsed JSON of {@code file} (strict), with the file and the reason in any error. */
    public static JsonNode readTree(Path file) {
        try {
            return STRICT.readTree(Files.readAllBytes(file));   // through NIO: its exceptions say why (permission, ...)
        } catch (JacksonException e) {
            throw new IllegalArgumentException(file + ": is not valid JSON: " + MessageText.reason(e), e);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + MessageText.reason(e), e);
        }
    }

    public JsonNode node() { return node; }

    public String source() { return source; }

    /** The nested object {@code key} (e.g. "text_config" of a full CLIPConfig) if present, else this config. */
    public JsonConfig nestedOrSelf(String key) {
        JsonNode n = node.get(key);
        return n != null && n.isObject() ? object(key) : this;
    }

    /** The nested object {@code key}; its keys are named "key.inner" in messages. */
    public JsonConfig object(String key) {
        JsonNode n = present(key);
        if (n == null || !n.isObject()) throw wrongType(key, "an object", n);
        return new JsonConfig(n, source, keyPrefix + key + ".");
    }

    private JsonNode present(String key) {
        JsonNode n = node.get(key);
        return n == null || n.isNull() ? null : n;
    }

    public int getInt(String key, int dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw wrongType(key, "an integer", n);
        return n.intValue();
    }

    /** Sizes, counts and divisors: zero or negative is an error here, before anything divides by it. */
    public int getPositiveInt(String key, int dflt) {
        int v = getInt(key, dflt);
        require(v > 0, key, "must be a positive integer, got " + v);
        return v;
    }

    /** A finite number (JSON's 1e999 reads as infinity). */
    public double getDouble(String key, double dflt) {
        return getDoubleOrNull(key, dflt);
    }

    /** Scales and divisors: a finite number above zero. */
    public double getPositiveDouble(String key, double dflt) {
        double v = getDouble(key, dflt);
        require(v > 0, key, "must be a positive number, got " + v);
        return v;
    }

    /** Null when absent and {@code dflt} is null. */
    public Double getDoubleOrNull(String key, Double dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        return finite(key, n);
    }

    public boolean getBoolean(String key, boolean dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.isBoolean()) throw wrongType(key, "true or false", n);
        return n.booleanValue();
    }

    public String getString(String key, String dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.isTextual()) throw wrongType(key, "a string", n);
        return n.textValue();
    }

    public int[] getIntArray(String key, int[] dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt.clone();
        if (!n.isArray()) throw wrongType(key, "an array of integers", n);
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isIntegralNumber() || !n.get(i).canConvertToInt()) throw wrongType(key, "an array of integers", n);
            out[i] = n.get(i).intValue();
        }
        return out;
    }

    /** An array of sizes: every entry must be positive. */
    public int[] getPositiveIntArray(String key, int[] dflt) {
        int[] out = getIntArray(key, dflt);
        for (int i = 0; i < out.length; i++) require(out[i] > 0, key, "must hold positive integers, got [" + i + "] = " + out[i]);
        return out;
    }

    /** An array of finite numbers. */
    public double[] getDoubleArray(String key, double[] dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt.clone();
        if (!n.isArray()) throw wrongType(key, "an array of numbers", n);
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isNumber() || !Double.isFinite(n.get(i).doubleValue())) throw wrongType(key, "an array of finite numbers", n);
            out[i] = n.get(i).doubleValue();
        }
        return out;
    }

    public String[] getStringArray(String key, String[] dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt.clone();
        if (!n.isArray()) throw wrongType(key, "an array of strings", n);
        String[] out = new String[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isTextual()) throw wrongType(key, "an array of strings", n);
            out[i] = n.get(i).textValue();
        }
        return out;
    }

    /** Whether {@code key} is present and not null. */
    public boolean has(String key) { return present(key) != null; }

    /** Keys without a library default. */
    public void requireKey(String key) {
        require(has(key), key, "is required");
    }

    /** Throws {@link #invalid} unless {@code ok}: "FILE: 'key' message". */
    public void require(boolean ok, String key, String message) {
        if (!ok) throw invalid(key, message);
    }

    /** Runs a config record's constructor; a {@link ConfigProblem} it raises gets this config's file name. */
    public <T> T build(Supplier<T> constructor) {
        try {
            return constructor.get();
        } catch (ConfigProblem e) {
            if (e.source() != null) throw e;
            throw invalid(e.key(), e.detail());
        }
    }

    /** An error naming this config and the offending key. */
    public ConfigProblem invalid(String key, String message) {
        return new ConfigProblem(source, keyPrefix + key, message);
    }

    private double finite(String key, JsonNode n) {
        if (!n.isNumber()) throw wrongType(key, "a number", n);
        double v = n.doubleValue();
        require(Double.isFinite(v), key, "must be a finite number, got " + v);
        return v;
    }

    private ConfigProblem wrongType(String key, String expected, JsonNode got) {
        return invalid(key, "must be " + expected + ", got " + (got == null ? "nothing" : abbreviated(got)));
    }

    /** A value as JSON, cut short: a message line, not the whole of a 49408-entry vocabulary. */
    private static String abbreviated(JsonNode n) {
        String s = n.toString();
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
