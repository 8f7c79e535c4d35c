package dev.i2vgen.model.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Typed reads of a component's {@code config.json} with the library defaults for absent (or null)
 * keys; a key of the wrong type is an error naming the config and the key, not a silent default.
 */
public final class JsonConfig {
    private final JsonNode node;
    private final String source;

    public JsonConfig(JsonNode node, String source) {
        if (node == null || !node.isObject()) throw new IllegalArgumentException(source + ": config must be a JSON object");
        this.node = node;
        this.source = source;
    }

    public static JsonConfig read(Path file) {
        try {
            return new JsonConfig(new ObjectMapper().readTree(Files.readString(file)), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read config " + file, e);
        }
    }

    public JsonNode node() { return node; }

    public String source() { return source; }

    /** The nested object {@code key} (e.g. "text_config" of a full CLIPConfig) if present, else this config. */
    public JsonConfig nestedOrSelf(String key) {
        JsonNode n = node.get(key);
        return n != null && n.isObject() ? new JsonConfig(n, source + "#" + key) : this;
    }

    private JsonNode present(String key) {
        JsonNode n = node.get(key);
        return n == null || n.isNull() ? null : n;
    }

    public int getInt(String key, int dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.canConvertToInt() || !n.isIntegralNumber()) throw wrongType(key, "an integer", n);
        return n.intValue();
    }

    public double getDouble(String key, double dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.isNumber()) throw wrongType(key, "a number", n);
        return n.doubleValue();
    }

    /** Null when absent and {@code dflt} is null. */
    public Double getDoubleOrNull(String key, Double dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.isNumber()) throw wrongType(key, "a number", n);
        return n.doubleValue();
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
            if (!n.get(i).isIntegralNumber()) throw wrongType(key, "an array of integers", n);
            out[i] = n.get(i).intValue();
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

    /** An error naming this config and the offending key. */
    public IllegalArgumentException invalid(String key, String message) {
        return new IllegalArgumentException(source + ": '" + key + "' " + message);
    }

    private IllegalArgumentException wrongType(String key, String expected, JsonNode got) {
        return invalid(key, "must be " + expected + ", got " + got);
    }
}
