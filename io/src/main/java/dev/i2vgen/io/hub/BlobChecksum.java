package dev.i2vgen.io.hub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Checks a downloaded file against what the Hub said about it. The blob's name is the Hub's ETag: for a file stored
 * with Git LFS (or Xet) the SHA-256 of its contents (64 hex digits, from {@code X-Linked-Etag}), for a small file in
 * git the git blob id, SHA-1 of {@code "blob <size>\0"} and the contents (40 hex digits). Any other ETag (not one the
 * Hub sends) is checked by size alone.
 */
final class BlobChecksum {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern GIT_SHA1 = Pattern.compile("[0-9a-f]{40}");

    private BlobChecksum() {}

    /** Null when {@code file} has {@code size} bytes and the digest its ETag names, else what differs. */
    static String mismatch(Path file, String etag, long size) throws IOException {
        long actual = Files.size(file);
        if (actual != size) return "it has " + actual + " bytes where the Hub announced " + size;
        String e = etag.toLowerCase(java.util.Locale.ROOT);
        if (SHA256.matcher(e).matches()) {
            String got = digest(file, "SHA-256", null);
            return got.equals(e) ? null : "its SHA-256 is " + got + " where the Hub announced " + e;
        }
        if (GIT_SHA1.matcher(e).matches()) {
            String got = digest(file, "SHA-1", ("blob " + actual + "\0").getBytes(StandardCharsets.US_ASCII));
            return got.equals(e) ? null : "its git blob id is " + got + " where the Hub announced " + e;
        }
        return null;
    }

    private static String digest(Path file, String algorithm, byte[] prefix) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is required of every Java platform", e);
        }
        if (prefix != null) md.update(prefix);
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) md.update(buffer, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
