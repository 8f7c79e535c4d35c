package dev.i2vgen.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The temporary files and folders that {@link AtomicFiles} writes before renaming them into place, and how none of
 * them outlives the run:
 * <ul>
 *   <li>they are named {@code .<output name>.i2vgen-<16 hex digits>.tmp} next to the output ({@link #isOurs}), so
 *       that nobody else's file is ever taken for one of ours;</li>
 *   <li>while written they are registered here; a JVM shutdown hook (SIGINT, SIGTERM, {@code System.exit}) removes
 *       every registered one, and a failed write removes its own;</li>
 *   <li>what a process killed without shutdown hooks (SIGKILL, power loss) left behind is removed the next time an
 *       output is written into that folder, once it is {@link #STALE_AFTER} old (a live writer touches its
 *       temporary far more often than that).</li>
 * </ul>
 */
final class TemporaryOutputs {
    private static final String MARKER = ".i2vgen-";
    private static final String SUFFIX = ".tmp";
    private static final Pattern NAME = Pattern.compile("\\..+\\.i2vgen-[0-9a-f]{16}\\.tmp", Pattern.DOTALL);
    /** Keeps the whole name within the 255 bytes most file systems allow, even for a long, multi-byte output name. */
    private static final int MAX_OUTPUT_NAME_CHARS = 48;
    /** Age from which a temporary of ours that this process is not writing is taken for a leftover of a killed run. */
    static final Duration STALE_AFTER = Duration.ofMinutes(10);
    /** Removal races a writer still adding files to a folder until the JVM halts: retry a few times. */
    private static final int REMOVE_ATTEMPTS = 20;

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final FileAttribute<?> OWNER_ONLY_FILE = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final FileAttribute<?> OWNER_ONLY_FOLDER = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    /** Guarded by the class lock, which also makes publishing and the shutdown removal exclusive. */
    private static final Set<Path> inProgress = new LinkedHashSet<>();
    private static boolean shuttingDown;

    static {
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(TemporaryOutputs::removeAllInProgress, "i2vgen-remove-temporary-outputs"));
        } catch (IllegalStateException alreadyShuttingDown) {
            shuttingDown = true;
        }
    }

    private TemporaryOutputs() {}

    /** Moves a finished temporary into place. */
    interface Publication {
        void run() throws IOException;
    }

    /** Whether a file name is that of a temporary output of ours (of any output). */
    static boolean isOurs(String fileName) {
        return NAME.matcher(fileName).matches();
    }

    /** Creates and registers an empty, owner-only temporary file for {@code target}, in the same folder. */
    static Path createFile(Path target) throws IOException {
        return create(target, false);
    }

    /** Creates and registers an empty, owner-only temporary folder for {@code target}, in the same parent. */
    static Path createDirectory(Path target) throws IOException {
        return create(target, true);
    }

    private static Path create(Path target, boolean folder) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        boolean posix = Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class);
        String name = target.getFileName().toString();
        if (name.length() > MAX_OUTPUT_NAME_CHARS) name = name.substring(0, name.offsetByCodePoints(0, name.codePointCount(0, MAX_OUTPUT_NAME_CHARS)));
        synchronized (TemporaryOutputs.class) {
            if (shuttingDown) throw new IOException(target + ": not writing, the process is shutting down");
            for (int attempt = 0; ; attempt++) {
                Path tmp = dir.resolve("." + name + MARKER + HexFormat.of().toHexDigits(RANDOM.nextLong()) + SUFFIX);
                try {
                    if (folder) {
                        if (posix) Files.createDirectory(tmp, OWNER_ONLY_FOLDER); else Files.createDirectory(tmp);
                    } else {
                        if (posix) Files.createFile(tmp, OWNER_ONLY_FILE); else Files.createFile(tmp);
                    }
                    inProgress.add(tmp);
                    return tmp;
                } catch (FileAlreadyExistsException e) {
                    if (attempt >= 10) throw e;
                }
            }
        }
    }

    /**
     * Runs {@code publication} (the rename of {@code temporary} into place) unless the process is shutting down, in
     * which case the shutdown hook has removed or is removing the temporary and nothing is published.
     */
    static void publish(Path temporary, Publication publication) throws IOException {
        synchronized (TemporaryOutputs.class) {
            if (shuttingDown) throw new IOException(temporary + ": not published, the process is shutting down");
            publication.run();
            inProgress.remove(temporary);
        }
    }

    /** Removes a temporary whose write failed (a file, or a folder with its contents). */
    static void discard(Path temporary) throws IOException {
        try {
            removeTree(temporary);
        } finally {
            synchronized (TemporaryOutputs.class) {
                inProgress.remove(temporary);
            }
        }
    }

    /**
     * Removes temporaries of ours in {@code folder} that no writer of this process owns and that are at least
     * {@link #STALE_AFTER} old: leftovers of runs that were killed. Best effort: what cannot be removed stays.
     *
     * @return the removed paths
     */
    static List<Path> removeStale(Path folder) {
        Instant cutoff = Instant.now().minus(STALE_AFTER);
        List<Path> removed = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(folder.toAbsolutePath(), p -> isOurs(p.getFileName().toString()))) {
            for (Path p : entries) {
                synchronized (TemporaryOutputs.class) {
                    if (inProgress.contains(p)) continue;
                }
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    if (a.isSymbolicLink() || !a.lastModifiedTime().toInstant().isBefore(cutoff)) continue;
                    removeTree(p);
                    removed.add(p);
                } catch (IOException | UncheckedIOException e) {
                    // someone else's (permissions) or already gone: leave it
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // an unlistable folder: the write itself will report the problem
        }
        return removed;
    }

    /** The shutdown hook: nothing is published after this, and every registered temporary is removed. */
    private static void removeAllInProgress() {
        synchronized (TemporaryOutputs.class) {
            shuttingDown = true;
            for (Path p : inProgress) {
                try {
                    removeTree(p);
                } catch (IOException | UncheckedIOException e) {
                    System.err.println("could not remove the temporary output " + p + ": " + e.getMessage());
                }
            }
            inProgress.clear();
        }
    }

    /** Deletes a file, or a folder and its contents (links are deleted, not followed), retrying while a writer adds files. */
    private static void removeTree(Path root) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) return;
                try (Stream<Path> walk = Files.walk(root)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
                return;
            } catch (IOException | UncheckedIOException e) {
                if (attempt >= REMOVE_ATTEMPTS) throw e;
            }
        }
    }
}
