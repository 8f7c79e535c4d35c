package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Typed access to the optional keys of a scheduler config JSON: null counts as absent (diffusers' default), a wrong
 * type or an unknown choice is an error naming the source (usually the file) and the key.
 */
record SchedulerConfigReader(JsonNode json, String source) {

    SchedulerConfigReader {
        if (json == null || !json.isObject()) throw new IllegalArgumentException(source + ": expected a JSON object, got " + json);
    }

    private JsonNode get(String key) {
        JsonNode n = json.get(key);
        return n == null || n.isNull() ? null : n;
    }

    IllegalArgumentException wrong(String key, String expected, Object got) {
        return new IllegalArgumentException(source + ": '" + key + "' must be " + expected + ", got " + got);
    }

    int integer(String key, int dflt) {
        JsonNode n = get(key);
        if (n == null) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw wrong(key, "an integer", n);
        return n.intValue();
    }

    double number(String key, double dflt) {
        Double d = optionalNumber(key);
        return d == null ? dflt : d;
    }

    /** A number or null (absent). */
    Double optionalNumber(String key) {
        JsonNode n = get(key);
        if (n == null) return null;
        if (!n.isNumber()) throw wrong(key, "a number", n);
        return n.doubleValue();
    }

    boolean bool(String key, boolean dflt) {
        JsonNode n = get(key);
        if (n == null) return dflt;
        if (!n.isBoolean()) throw wrong(key, "true or false", n);
        return n.booleanValue();
    }

    String string(String key, String dflt) {
        JsonNode n = get(key);
        if (n == null) return dflt;
        if (!n.isTextual()) throw wrong(key, "a string", n);
        return n.textValue();
    }

    /** An array of numbers, or null when absent. */
    double[] numbers(String key) {
        JsonNode n = get(key);
        if (n == null) return null;
        if (!n.isArray()) throw wrong(key, "an array of numbers or null", n);
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isNumber()) throw wrong(key + "[" + i + "]", "a number", n.get(i));
            out[i] = n.get(i).doubleValue();
        }
        return out;
    }

    /** One of an enum's config names. */
    <E extends Enum<E>> E choice(String key, E dflt, E[] values, Function<E, String> configName) {
        return parser(key, values, configName).apply(string(key, configName.apply(dflt)));
    }

    /** Parses one of an enum's config names read from {@code key}, with {@link #choice}'s error. */
    <E extends Enum<E>> Function<String, E> parser(String key, E[] values, Function<E, String> configName) {
        return name -> {
            for (E v : values) if (configName.apply(v).equals(name)) return v;
            throw wrong(key, "one of " + Arrays.stream(values).map(v -> "'" + configName.apply(v) + "'")
                    .collect(Collectors.joining(", ")), "'" + name + "'");
        };
    }
}
