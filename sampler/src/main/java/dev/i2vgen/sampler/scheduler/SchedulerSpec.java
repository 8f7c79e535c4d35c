package dev.i2vgen.sampler.scheduler;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A scheduler chosen by diffusers' class name plus config overrides, as typed on a command line:
 * {@code NAME} or {@code NAME:key=value,key=value}, e.g.
 * {@code DPMSolverMultistepScheduler:use_karras_sigmas=true,algorithm_type=sde-dpmsolver++}. Values stay text:
 * the config's {@code withOverrides} reads a JSON literal ({@code true}, {@code 3}, {@code [0,1]}) as such and any
 * other text as a string. {@link Schedulers#create(java.nio.file.Path, SchedulerSpec)} applies it.
 *
 * @param className diffusers' scheduler class name
 * @param overrides config keys and their values as text, in the order given
 */
public record SchedulerSpec(String className, Map<String, String> overrides) {

    public SchedulerSpec {
        // the checks keep toString() readable back by parse()
        if (className == null || className.isBlank() || className.contains(":")) throw new IllegalArgumentException(
                "scheduler class name must be non-empty text without ':', got "
                        + (className == null ? "null" : "'" + className + "'"));
        Objects.requireNonNull(overrides, "overrides");
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String key = e.getKey();
            if (key == null || key.isBlank() || key.contains("=") || key.contains(",")) throw new IllegalArgumentException(
                    className + " option key must be non-empty text without '=' or ',', got "
                            + (key == null ? "null" : "'" + key + "'"));
            if (e.getValue() == null || e.getValue().isBlank()) throw new IllegalArgumentException(
                    className + " option '" + key + "' needs a value (null as text for the class's default)");
        }
        overrides = Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
    }

    /** A spec without overrides. */
    public static SchedulerSpec of(String className) {
        return new SchedulerSpec(className, Map.of());
    }

    /**
     * Parses {@code NAME} or {@code NAME:key=value,…}. Commas split options only outside brackets and double
     * quotes, so {@code disable_corrector=[0,1]} stays one value; spaces around names, keys and values are dropped.
     *
     * @throws IllegalArgumentException naming the text for an empty name, an option without '=', an empty key or
     *                                  value, a key given twice, or unbalanced brackets or quotes
     */
    public static SchedulerSpec parse(String text) {
        Objects.requireNonNull(text, "scheduler spec");
        int colon = text.indexOf(':');
        String name = (colon < 0 ? text : text.substring(0, colon)).strip();
        if (name.isEmpty()) throw wrong(text, "the scheduler class name is empty (expected NAME or NAME:key=value,...)");
        Map<String, String> overrides = new LinkedHashMap<>();
        if (colon >= 0) {
            for (String option : splitOptions(text, text.substring(colon + 1))) {
                int eq = option.indexOf('=');
                if (eq < 0) throw wrong(text, "option '" + option + "' has no '=' (expected key=value)");
                String key = option.substring(0, eq).strip();
                String value = option.substring(eq + 1).strip();
                if (key.isEmpty()) throw wrong(text, "option '" + option + "' has an empty key (expected key=value)");
                if (value.isEmpty()) throw wrong(text, "option '" + key + "' has an empty value (use null for the"
                        + " class's default)");
                if (overrides.putIfAbsent(key, value) != null) throw wrong(text, "option '" + key + "' is given twice");
            }
        }
        return new SchedulerSpec(name, overrides);
    }

    /** The options after the colon, split at commas outside brackets and quotes; empty options are an error. */
    private static List<String> splitOptions(String text, String options) {
        if (options.isBlank()) throw wrong(text, "nothing after ':' (expected key=value,...)");
        List<String> out = new ArrayList<>();
        int depth = 0;
        boolean quoted = false;
        boolean escaped = false;
        int start = 0;
        for (int i = 0; i < options.length(); i++) {
            char c = options.charAt(i);
            if (quoted) {
                // a backslash-escaped quote does not end the string, as in JSON
                if (escaped) escaped = false;
                else if (c == '\\') escaped = true;
                else if (c == '"') quoted = false;
            } else if (c == '"') {
                quoted = true;
            } else if (c == '[' || c == '{') {
                depth++;
            } else if (c == ']' || c == '}') {
                if (--depth < 0) throw wrong(text, "'" + c + "' without a matching opening bracket");
            } else if (c == ',' && depth == 0) {
                out.add(option(text, options.substring(start, i)));
                start = i + 1;
            }
        }
        if (quoted) throw wrong(text, "a double-quoted value is not closed");
        if (depth > 0) throw wrong(text, "a bracket is not closed");
        out.add(option(text, options.substring(start)));
        return out;
    }

    private static String option(String text, String option) {
        if (option.isBlank()) throw wrong(text, "an option is empty (expected key=value between commas)");
        return option.strip();
    }

    private static IllegalArgumentException wrong(String text, String problem) {
        return new IllegalArgumentException("scheduler spec '" + text + "': " + problem);
    }

    /** The canonical text: {@code NAME} or {@code NAME:key=value,…}, which {@link #parse} reads back. */
    @Override
    public String toString() {
        if (overrides.isEmpty()) return className;
        StringBuilder sb = new StringBuilder(className).append(':');
        overrides.forEach((k, v) -> sb.append(k).append('=').append(v).append(','));
        return sb.substring(0, sb.length() - 1);
    }
}
