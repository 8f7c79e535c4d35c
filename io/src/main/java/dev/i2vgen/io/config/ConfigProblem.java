package dev.i2vgen.io.config;

/**
 * A config value of the wrong type or out of range: "FILE: 'key' must be ..., got ...". A record's constructor,
 * which does not know the file, raises it without one; {@link JsonConfig#build} adds the file.
 */
public final class ConfigProblem extends IllegalArgumentException {
    private final String source;
    private final String key;
    private final String detail;

    public ConfigProblem(String key, String detail) { this(null, key, detail); }

    public ConfigProblem(String source, String key, String detail) {
        super(dev.i2vgen.io.MessageText.oneLine((source == null ? "" : source + ": ") + "'" + key + "' " + detail)); // keys may hold line breaks
        this.source = source;
        this.key = key;
        this.detail = detail;
    }

    /** The config file (or what stands for it), null when raised outside a {@link JsonConfig}. */
    public String source() { return source; }

    /** The key, dotted for nested objects ("crop_size.height"). */
    public String key() { return key; }

    /** What was expected and what was found, without file or key. */
    public String detail() { return detail; }

    /** Throws a problem with {@code key} unless {@code ok}; {@code message} says what was expected. */
    public static void require(boolean ok, String key, String message) {
        if (!ok) throw new ConfigProblem(key, message);
    }
}
