package dev.i2vgen.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The built-in demo: the tiny conformance checkpoint (random weights in the real I2VGen-XL layout) and
 * its test image, packed in the jar and unpacked once into a cache folder so the normal loader can read it.
 */
final class DemoModel {
    static final String PROMPT = "A red fox jumps over a frozen lake at dawn, cinematic";
    static final String NEGATIVE_PROMPT = "Distorted, discontinuous, ugly, blurry, low resolution, motionless, static";

    private DemoModel() {}

    /** The unpacked demo folder: {@code checkpoint/} and {@code input.png}. */
    static Path unpack() {
        Path root = cacheRoot().resolve("demo-0.1.0");
        Path done = root.resolve(".complete");
        if (Files.exists(done)) return root;
        try {
            Path tmp = Files.createTempDirectory(cacheRoot(), "demo-unpack");
            for (String f : files()) copy("demo/checkpoint/" + f, tmp.resolve("checkpoint").resolve(f));
            copy("demo/input.png", tmp.resolve("input.png"));
            Files.writeString(tmp.resolve(".complete"), "ok");
            try {
                Files.move(tmp, root, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                if (!Files.exists(done)) throw raced; // another process unpacked it first: fine
            }
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack the built-in demo model into " + root, e);
        }
    }

    private static Path cacheRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        Path p = base.resolve("i2vgen");
        try {
            Files.createDirectories(p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create cache folder " + p, e);
        }
    }

    private static List<String> files() throws IOException {
        try (InputStream in = resource("demo/FILES")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        }
    }

    private static void copy(String resource, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        try (InputStream in = resource(resource)) {
            Files.copy(in, target);
        }
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = DemoModel.class.getClassLoader().getResourceAsStream(name);
        if (in == null) throw new IOException("resource " + name + " is missing from the jar (was examples built?)");
        return in;
    }
}
