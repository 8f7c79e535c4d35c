package dev.i2vgen.spark;

import dev.i2vgen.cli.GenerateArguments;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Output names from a hash of everything that makes a row's video: the image's bytes, every validated generation
 * setting with its defaults resolved ({@link GenerateArguments#videoParameters}: seed, sizes, steps, scheduler,
 * precision, ...) and the checkpoint's identity. The same row gets the same name in every run and every task attempt,
 * so a rerun or a retried task finds a finished video (written atomically: it exists only when complete) and skips it.
 * The device is not part of it: a row's video is the same one on any backend, up to rounding.
 */
final class OutputNames {
    private static final int HASH_HEX_DIGITS = 24;
    private static final int MAX_STEM_CHARS = 40;
    /** Checkpoint identities of this JVM, by folder (reading them costs a folder walk). */
    private static final ConcurrentHashMap<Path, String> MODEL_IDENTITIES = new ConcurrentHashMap<>();

    private OutputNames() {}

    /**
     * {@code <image name>-<24 hex digits>.<format>} ({@code png}: a folder of frames, without extension), the hex
     * digits from SHA-256 of the row's inputs.
     */
    static String of(GenerateArguments args, String format) throws IOException {
        MessageDigest sha = sha256();
        add(sha, "checkpoint", modelIdentity(args.modelFolder()));
        add(sha, "image", fileHash(args.image()));
        add(sha, "parameters", args.videoParameters());
        String hash = HexFormat.of().formatHex(sha.digest()).substring(0, HASH_HEX_DIGITS);
        return stem(args.image()) + "-" + hash + (format.equals("png") ? "" : "." + format);
    }

    /**
     * The checkpoint folder's identity: the contents of its configs (JSON, text: the tokenizer) and the name and size
     * of every other file (the weights, which are too large to read for this), hidden files left out (download caches).
     */
    static String modelIdentity(Path folder) {
        return MODEL_IDENTITIES.computeIfAbsent(folder.toAbsolutePath().normalize(), dir -> {
            MessageDigest sha = sha256();
            try (Stream<Path> files = Files.walk(dir, FileVisitOption.FOLLOW_LINKS)) {
                List<Path> sorted = files.filter(Files::isRegularFile).map(dir::relativize)
                        .filter(p -> !isHidden(p)).sorted().toList();
                for (Path file : sorted) {
                    String name = file.toString();
                    add(sha, "file", name);
                    Path full = dir.resolve(file);
                    boolean config = name.endsWith(".json") || name.endsWith(".txt");
                    add(sha, config ? "content" : "size", config ? fileHash(full) : Long.toString(Files.size(full)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the checkpoint folder " + dir + ": " + e.getMessage(), e);
            }
            return HexFormat.of().formatHex(sha.digest());
        });
    }

    private static boolean isHidden(Path relative) {
        for (Path part : relative) if (part.toString().startsWith(".")) return true;
        return false;
    }

    /** The image file's name without extension, cut to letters, digits, '-' and '_' (so the name stays readable). */
    private static String stem(Path image) {
        String name = image.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = (dot > 0 ? name.substring(0, dot) : name).replaceAll("[^A-Za-z0-9_-]+", "_");
        if (stem.length() > MAX_STEM_CHARS) stem = stem.substring(0, MAX_STEM_CHARS);
        return stem.isEmpty() ? "video" : stem;
    }

    private static String fileHash(Path file) throws IOException {
        MessageDigest sha = sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Adds a labelled, length-prefixed field, so that no two different inputs give the same byte sequence. */
    private static void add(MessageDigest sha, String label, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        sha.update((label + ":" + bytes.length + ":").getBytes(StandardCharsets.UTF_8));
        sha.update(bytes);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }
}
