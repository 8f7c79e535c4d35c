package dev.i2vgen.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Write-to-temporary-then-rename, so readers never see a half-written output and failures leave nothing.
 * The finished output gets the permissions an ordinary create gives (rw-r--r--, folders rwxr-xr-x), not the
 * owner-only ones of the temporary file.
 */
public final class AtomicFiles {
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-r--r--");
    private static final Set<PosixFilePermission> FOLDER = PosixFilePermissions.fromString("rwxr-xr-x");

    private AtomicFiles() {}

    /** Writes the temporary output. */
    public interface Body {
        void writeTo(Path temporary) throws IOException;
    }

    /** Writes a file through a temporary file in the same folder, then renames it over {@code target}. */
    public static void writeFile(Path target, Body body) throws IOException {
        Path dir = parentOf(target);
        if (Files.isDirectory(target)) throw new IOException(target + ": is a directory, expected a file path");
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            body.writeTo(tmp);
            publish(tmp, FILE);
            move(tmp, target);
        } catch (IOException | RuntimeException | Error e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /**
     * Writes a directory through a temporary directory in the same parent, then renames it to
     * {@code target}. An existing empty directory is replaced; a non-empty one is refused rather
     * than deleting someone's files.
     */
    public static void writeDirectory(Path target, Body body) throws IOException {
        Path dir = parentOf(target);
        if (Files.exists(target)) {
            if (!Files.isDirectory(target)) throw new IOException(target + ": exists and is not a directory");
            if (!isEmpty(target)) throw new IOException(target + ": directory exists and is not empty; refusing to overwrite it");
        }
        Path tmp = Files.createTempDirectory(dir, "." + target.getFileName() + ".");
        try {
            body.writeTo(tmp);
            publish(tmp, FOLDER);
            Files.deleteIfExists(target); // only ever an empty directory here
            move(tmp, target);
        } catch (IOException | RuntimeException | Error e) {
            deleteTree(tmp);
            throw e;
        }
    }

    /** Ordinary permissions where the file system has POSIX ones (elsewhere the defaults already are). */
    private static void publish(Path p, Set<PosixFilePermission> permissions) throws IOException {
        if (Files.getFileStore(p).supportsFileAttributeView(PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(p, permissions);
        }
    }

    private static Path parentOf(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new IOException(target + ": parent folder does not exist");
        return dir;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            return !s.iterator().hasNext();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
