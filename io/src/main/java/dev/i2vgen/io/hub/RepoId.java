package dev.i2vgen.io.hub;

import java.util.regex.Pattern;

/**
 * A model repository on the Hub, {@code namespace/name} (e.g. {@code ali-vilab/i2vgen-xl}), checked by huggingface_hub's
 * rules ({@code utils/_validators.py: validate_repo_id}): letters, digits, '-', '_' and '.', each part starting and
 * ending with a letter, digit or '_', the name at most 96 characters, no "--" or "..", not ending in ".git". The
 * namespace is required here, so that a mistyped local folder name is not taken for a repository.
 */
public record RepoId(String namespace, String name) {
    /** One part: word characters, '-' and '.', starting and ending with a word character (Python's {@code \b}). */
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?");
    private static final int MAX_NAME = 96;

    public RepoId {
        String problem = problem(namespace, name);
        if (problem != null) throw new IllegalArgumentException(problem);
    }

    /** Parses {@code namespace/name}; throws an IllegalArgumentException saying which rule the text breaks. */
    public static RepoId parse(String text) {
        if (text == null) throw new IllegalArgumentException("a repository id is required (namespace/name)");
        int slash = text.indexOf('/');
        if (slash < 0 || text.indexOf('/', slash + 1) >= 0) {
            throw new IllegalArgumentException("repository id '" + text + "' must be namespace/name, e.g. ali-vilab/i2vgen-xl");
        }
        return new RepoId(text.substring(0, slash), text.substring(slash + 1));
    }

    /** Whether {@code text} is a valid {@code namespace/name}. */
    public static boolean isValid(String text) {
        if (text == null) return false;
        int slash = text.indexOf('/');
        return slash > 0 && text.indexOf('/', slash + 1) < 0 && problem(text.substring(0, slash), text.substring(slash + 1)) == null;
    }

    /** {@code namespace/name}. */
    public String id() { return namespace + "/" + name; }

    /** The cache folder name huggingface_hub gives a model repository: {@code models--namespace--name}. */
    public String folderName() { return "models--" + namespace + "--" + name; }

    @Override
    public String toString() { return id(); }

    private static String problem(String namespace, String name) {
        String id = namespace + "/" + name;
        if (namespace == null || name == null || !PART.matcher(namespace).matches() || !PART.matcher(name).matches() || name.length() > MAX_NAME) {
            return "repository id '" + id + "' must use letters, digits, '-', '_' or '.', not start or end with '-' or '.',"
                    + " and the name must be at most " + MAX_NAME + " characters";
        }
        if (id.contains("--") || id.contains("..")) return "repository id '" + id + "' must not contain '--' or '..'";
        if (id.endsWith(".git")) return "repository id '" + id + "' must not end with '.git'";
        return null;
    }
}
