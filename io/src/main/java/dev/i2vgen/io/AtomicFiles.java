package dev.i2vgen.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.nio.file.StandardCopyOption;

/**
 * Write-to-temporary-then-rename, so readers never see a half-written output and failures leave nothing.
 * The finished output gets the permissions an ordinary create gives (rw-r--r--, folders rwxr-xr-x), not the
 * owner-only ones of the temporary file. Temporaries are named and cleaned up by {@link TemporaryOutputs}: an
 * interrupted process (SIGINT, SIGTERM) removes its own, and leftovers of killed runs are removed by the next write
 * into the same folder.
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
        try (Pending out = beginFile(target)) {
            body.writeTo(out.temporary());
            out.publish();
        }
    }

    /**
     * Writes a directory through a temporary directory in the same parent, then renames it to
     * {@code target}. An existing empty directory is replaced; a non-empty one is refused rather
     * than deleting someone's files.
     */
    public static void writeDirectory(Path target, Body body) throws IOException {
        try (Pending out = beginDirectory(target)) {
            body.writeTo(out.temporary());
            out.publish();
        }
    }

    /**
     * {@link #writeFile} in steps, for an output written over a longer time (a video encoded while its frames are
     * decoded): the temporary file exists from now on, {@link Pending#publish} renames it over {@code target}, and
     * {@link Pending#close} without a publish removes it.
     */
    public static Pending beginFile(Path target) throws IOException {
        Path dir = fileTarget(target);
        TemporaryOutputs.removeStale(dir);
        return new Pending(target, TemporaryOutputs.createFile(target), false);
    }

    /** {@link #writeDirectory} in steps, as {@link #beginFile}: a temporary folder published by {@link Pending#publish}. */
    public static Pending beginDirectory(Path target) throws IOException {
        Path dir = directoryTarget(target);
        TemporaryOutputs.removeStale(dir);
        return new Pending(target, TemporaryOutputs.createDirectory(target), true);
    }

    /**
     * A temporary output on its way to its target: written at {@link #temporary()}, renamed into place by
     * {@link #publish}, removed by {@link #close} unless published (a failure removing it is added to the failure that
     * is propagating, as try-with-resources does).
     */
    public static final class Pending implements AutoCloseable {
        private final Path target;
        private final Path temporary;
        private final boolean folder;
        private boolean finished;

        private Pending(Path target, Path temporary, boolean folder) {
            this.target = target;
            this.temporary = temporary;
            this.folder = folder;
        }

        /** Where to write: an empty file, or an empty folder for {@link #beginDirectory}. */
        public Path temporary() { return temporary; }

        /** The output this becomes. */
        public Path target() { return target; }

        /** Gives the output ordinary permissions and renames it into place; once. */
        public void publish() throws IOException {
            if (finished) throw new IllegalStateException(target + ": already published or discarded");
            giveOrdinaryPermissions(temporary, folder ? FOLDER : FILE);
            TemporaryOutputs.publish(temporary, folder ? () -> {
                Files.deleteIfExists(target); // only ever an empty directory here
                move(temporary, target);
            } : () -> move(temporary, target));
            finished = true;
        }

        /** Removes the temporary output unless it was published. */
        @Override
        public void close() throws IOException {
            if (finished) return;
            finished = true;
            TemporaryOutputs.discard(temporary);
        }
    }

    /**
     * What {@link #writeFile} refuses, checked without writing the output (callers check before long work): an empty
     * path, an existing directory, a missing parent folder, or one where no file can be created (tried, as the
     * permission bits do not tell for root or a read-only file system).
     */
    public static void checkFileTarget(Path target) throws IOException {
        Path dir = fileTarget(target);
        Files.delete(probe(target, () -> Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp")));
    }

    /**
     * What {@link #writeDirectory} refuses, checked without writing the output: an empty path, a file, a non-empty
     * directory, a missing parent folder, or one where no folder can be created.
     */
    public static void checkDirectoryTarget(Path target) throws IOException {
        Path dir = directoryTarget(target);
        Files.delete(probe(target, () -> Files.createTempDirectory(dir, "." + target.getFileName() + ".")));
    }

    /** The parent folder of a file target that is not a directory itself (writing then tries the folder). */
    private static Path fileTarget(Path target) throws IOException {
        Path dir = parentOf(target);
        if (Files.isDirectory(target)) throw new IOException(target + ": is a directory, expected a file path");
        return dir;
    }

    /** The parent folder of a frames target that is new or an empty directory. */
    private static Path directoryTarget(Path target) throws IOException {
        Path dir = parentOf(target);
        if (Files.exists(target)) {
            if (!Files.isDirectory(target)) throw new IOException(target + ": exists and is not a directory");
            if (!isEmpty(target)) throw new IOException(target + ": directory exists and is not empty; refusing to overwrite it");
        }
        return dir;
    }

    private interface Creation {
        Path create() throws IOException;
    }

    /** A temporary sibling created to learn whether the folder takes one; the failure says why not. */
    private static Path probe(Path target, Creation creation) throws IOException {
        try {
            return creation.create();
        } catch (IOException e) {
            String why = e instanceof AccessDeniedException ? "permission denied"
                    : e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : e.getClass().getSimpleName();
            throw new IOException(target + ": cannot create files in folder " + target.toAbsolutePath().getParent() + " (" + why + ")", e);
        }
    }

    /** Ordinary permissions where the file system has POSIX ones (elsewhere the defaults already are). */
    private static void giveOrdinaryPermissions(Path p, Set<PosixFilePermission> permissions) throws IOException {
        if (Files.getFileStore(p).supportsFileAttributeView(PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(p, permissions);
        }
    }

    private static Path parentOf(Path target) throws IOException {
        if (target.toString().isEmpty()) throw new IOException("the output path is empty");
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
}
