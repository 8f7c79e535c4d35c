package dev.i2vgen.io.hub;

import dev.i2vgen.io.MessageText;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the Hugging Face Hub is and how to reach it, read from the environment as huggingface_hub reads it
 * ({@code constants.py}, {@code utils/_auth.py}), so that this library and Python tools share one cache and one login:
 * <ul>
 *   <li>{@code endpoint}: {@code HF_ENDPOINT} (trailing '/' removed), default {@code https://huggingface.co};</li>
 *   <li>{@code token}: {@code HF_TOKEN} (or the older {@code HUGGING_FACE_HUB_TOKEN}), else the token file
 *       {@code HF_TOKEN_PATH}, default {@code $HF_HOME/token}, where {@code hf auth login} stores it; sent as a bearer
 *       token; null when there is none;</li>
 *   <li>{@code cacheDir}: {@code HF_HUB_CACHE} (or the older {@code HUGGINGFACE_HUB_CACHE}), else {@code $HF_HOME/hub};
 *       {@code HF_HOME} defaults to {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface};</li>
 *   <li>{@code offline}: {@code HF_HUB_OFFLINE} (or {@code TRANSFORMERS_OFFLINE}) is 1, ON, YES or TRUE: only the
 *       cache is used;</li>
 *   <li>{@code timeout}: {@code HF_HUB_DOWNLOAD_TIMEOUT} seconds, default 10: to connect, for an answer, and the
 *       longest a download may go without receiving a byte.</li>
 * </ul>
 * Paths get huggingface_hub's expansion ({@code ~} and {@code $VAR}). Tests build their own from a map, leaving the
 * process environment alone. {@link #toString()} does not show the token.
 */
public record HubSettings(URI endpoint, String token, String tokenSource, Path cacheDir, boolean offline, Duration timeout) {
    public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    /** huggingface_hub's {@code ENV_VARS_TRUE_VALUES}. */
    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");
    private static final Pattern VARIABLE = Pattern.compile("\\$(\\w+|\\{([^}]*)})");

    public HubSettings {
        if (endpoint == null || endpoint.getHost() == null || !("http".equals(endpoint.getScheme()) || "https".equals(endpoint.getScheme()))) {
            throw new IllegalArgumentException("HF_ENDPOINT must be an http(s) URL such as " + DEFAULT_ENDPOINT + ", got '" + endpoint + "'");
        }
        if (cacheDir == null) throw new IllegalArgumentException("the Hub cache folder must not be null");
        if (timeout == null || timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("the Hub timeout must be positive, got " + timeout);
        if (token != null && token.isBlank()) token = null;
        if (token == null) tokenSource = null;
    }

    /** From the process environment and the user's home folder. */
    public static HubSettings fromEnvironment() { return fromEnvironment(System.getenv()); }

    /** From {@code env} (e.g. {@code System.getenv()}); {@code ~} is the user's home folder. */
    public static HubSettings fromEnvironment(Map<String, String> env) {
        return fromEnvironment(env, Path.of(System.getProperty("user.home")));
    }

    /** From {@code env}, with {@code home} for {@code ~}; the token file is read when no token variable is set. */
    public static HubSettings fromEnvironment(Map<String, String> env, Path home) {
        Path hfHome = path(env, home, firstSet(env, "HF_HOME"),
                path(env, home, firstSet(env, "XDG_CACHE_HOME"), home.resolve(".cache")).resolve("huggingface"));
        Path cache = path(env, home, firstSet(env, "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"), hfHome.resolve("hub"));
        String endpointText = firstSet(env, "HF_ENDPOINT");
        URI endpoint = endpointText == null ? DEFAULT_ENDPOINT : endpoint(stripTrailingSlashes(endpointText));
        String token = cleanToken(firstSet(env, "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"));
        String source = token == null ? null : env.get("HF_TOKEN") != null && !env.get("HF_TOKEN").isEmpty() ? "HF_TOKEN" : "HUGGING_FACE_HUB_TOKEN";
        if (token == null) {
            Path tokenFile = path(env, home, firstSet(env, "HF_TOKEN_PATH"), hfHome.resolve("token"));
            token = readTokenFile(tokenFile);
            if (token != null) source = "the token file " + tokenFile;
        }
        boolean offline = isTrue(firstSet(env, "HF_HUB_OFFLINE")) || isTrue(firstSet(env, "TRANSFORMERS_OFFLINE"));
        return new HubSettings(endpoint, token, source, cache, offline, timeout(firstSet(env, "HF_HUB_DOWNLOAD_TIMEOUT")));
    }

    public HubSettings withOffline(boolean offline) {
        return new HubSettings(endpoint, token, tokenSource, cacheDir, offline, timeout);
    }

    public HubSettings withTimeout(Duration timeout) {
        return new HubSettings(endpoint, token, tokenSource, cacheDir, offline, timeout);
    }

    public boolean hasToken() { return token != null; }

    @Override
    public String toString() {
        return "HubSettings[endpoint=" + endpoint + ", token=" + (token == null ? "none" : "from " + tokenSource)
                + ", cacheDir=" + cacheDir + ", offline=" + offline + ", timeout=" + timeout + "]";
    }

    /** The first of {@code names} set to a non-empty value (Python's {@code os.getenv(a) or os.getenv(b)}). */
    private static String firstSet(Map<String, String> env, String... names) {
        for (String n : names) {
            String v = env.get(n);
            if (v != null && !v.isEmpty()) return v;
        }
        return null;
    }

    private static boolean isTrue(String value) { return value != null && TRUE_VALUES.contains(value.toUpperCase(Locale.ROOT)); }

    /** {@code os.path.expandvars(os.path.expanduser(value))}, or {@code fallback} when unset. */
    private static Path path(Map<String, String> env, Path home, String value, Path fallback) {
        if (value == null) return fallback;
        String v = value;
        if (v.equals("~") || v.startsWith("~/")) v = home + v.substring(1);
        Matcher m = VARIABLE.matcher(v);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(2) != null ? m.group(2) : m.group(1);
            String replacement = env.get(name);
            m.appendReplacement(out, Matcher.quoteReplacement(replacement != null ? replacement : m.group()));   // unknown: kept, as Python does
        }
        m.appendTail(out);
        return Path.of(out.toString());
    }

    private static URI endpoint(String text) {
        try {
            return new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("HF_ENDPOINT must be an http(s) URL such as " + DEFAULT_ENDPOINT + ", got '" + text + "': " + e.getReason());
        }
    }

    private static String stripTrailingSlashes(String s) {
        int end = s.length();
        while (end > 0 && s.charAt(end - 1) == '/') end--;
        return s.substring(0, end);
    }

    private static Duration timeout(String seconds) {
        if (seconds == null) return DEFAULT_TIMEOUT;
        try {
            double s = Double.parseDouble(seconds.trim());
            if (s > 0 && Double.isFinite(s)) return Duration.ofMillis(Math.max(1, Math.round(s * 1000)));
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("HF_HUB_DOWNLOAD_TIMEOUT must be a number of seconds > 0, got '" + seconds + "'");
    }

    /** huggingface_hub's {@code _clean_token}: line breaks removed, blank means none. */
    private static String cleanToken(String token) {
        if (token == null) return null;
        String t = token.replace("\r", "").replace("\n", "").strip();
        return t.isEmpty() ? null : t;
    }

    private static String readTokenFile(Path file) {
        try {
            return cleanToken(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the Hugging Face token file " + file + ": " + MessageText.reason(e), e);
        }
    }
}
