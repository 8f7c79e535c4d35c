package dev.i2vgen.model.common;

/**
 * A config value out of range, found where the file name is not known (a record's constructor);
 * {@link JsonConfig#build} turns it into an error that also names the file.
 */
public final class ConfigProblem extends IllegalArgumentException {
    private final String key;
    private final String detail;

    public ConfigProblem(String key, String detail) {
        super("'" + key + "' " + detail);
        this.key = key;
        this.detail = detail;
    }

    public String key() { return key; }

    public String detail() { return detail; }

    /** Throws a problem with {@code key} unless {@code ok}; {@code message} says what was expected. */
    public static void require(boolean ok, String key, String message) {
        if (!ok) throw new ConfigProblem(key, message);
    }
}
