package dev.i2vgen.io.hub;

import dev.i2vgen.io.AtomicFiles;
import dev.i2vgen.io.MessageText;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Hugging Face cache folder, in huggingface_hub's layout ({@code file_download.py}), so that a cache filled by
 * Python tools is used as is and the other way round:
 * <pre>
 * &lt;cache&gt;/models--org--name/blobs/&lt;etag&gt;                 file contents, named by the Hub's ETag (sha256 for LFS files)
 *                            blobs/&lt;etag&gt;.incomplete      a download in progress, resumed by the next try
 *                            snapshots/&lt;commit&gt;/&lt;path&gt;   relative symbolic links to ../../blobs/&lt;etag&gt; (one ../ more per folder)
 *                            refs/&lt;revision&gt;            the commit hash a branch or tag name resolved to
 * &lt;cache&gt;/.locks/models--org--name/&lt;etag&gt;.lock             one lock per blob, held while it is downloaded
 * </pre>
 * Where no symbolic link can be made the file is copied (a new blob moved) into the snapshot, as huggingface_hub does.
 */
public final class HubCache {
    /** huggingface_hub's {@code REGEX_COMMIT_HASH}. */
    static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    /** What an ETag may be to name a file: the Hub's are hex digests. */
    private static final Pattern BLOB_NAME = Pattern.compile("[A-Za-z0-9_.+=-]{1,200}");

    private final Path root;

    public HubCache(Path root) { this.root = root.toAbsolutePath().normalize(); }

    public Path root() { return root; }

    public Path repoFolder(RepoId repo) { return root.resolve(repo.folderName()); }

    public Path snapshot(RepoId repo, String commit) {
        if (!COMMIT.matcher(commit).matches()) throw new HubException(HubException.Reason.SERVER, repo + ": '" + commit + "' is not a commit hash");
        return repoFolder(repo).resolve("snapshots").resolve(commit);
    }

    /** The snapshot entry of a repository file; refuses a path that would leave the snapshot folder. */
    public Path pointer(RepoId repo, String commit, String file) {
        Path snapshot = snapshot(repo, commit);
        Path p = snapshot.resolve(file).normalize();
        if (file.isEmpty() || file.startsWith("/") || file.contains("\\") || !p.startsWith(snapshot) || p.equals(snapshot)) {
            throw new HubException(HubException.Reason.SERVER, repo + ": the file name '" + file + "' would leave the snapshot folder");
        }
        return p;
    }

    public Path blob(RepoId repo, String etag) {
        if (!BLOB_NAME.matcher(etag).matches() || etag.startsWith(".")) {
            throw new HubException(HubException.Reason.SERVER, repo + ": the ETag '" + etag + "' cannot name a cache file");
        }
        return repoFolder(repo).resolve("blobs").resolve(etag);
    }

    /** The partial download of {@code blob}, resumed by the next try. */
    public static Path incomplete(Path blob) { return blob.resolveSibling(blob.getFileName() + ".incomplete"); }

    public Path lockFile(RepoId repo, String etag) {
        blob(repo, etag);   // the same name checks
        return root.resolve(".locks").resolve(repo.folderName()).resolve(etag + ".lock");
    }

    /** The commit a branch or tag name was last resolved to ({@code refs/<revision>}), or the revision when it is a commit hash. */
    public Optional<String> commitOf(RepoId repo, String revision) {
        if (COMMIT.matcher(revision).matches()) return Optional.of(revision);
        Path ref = ref(repo, revision);
        try {
            String commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
            return COMMIT.matcher(commit).matches() ? Optional.of(commit) : Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new HubException(HubException.Reason.CACHE, ref + ": cannot read: " + MessageText.reason(e), e);
        }
    }

    /** Records that {@code revision} is {@code commit} (not for a commit hash itself); written whole, only when it changed. */
    public void writeRef(RepoId repo, String revision, String commit) {
        if (revision.equals(commit)) return;
        Path ref = ref(repo, revision);
        if (commitOf(repo, revision).filter(commit::equals).isPresent()) return;
        try {
            Files.createDirectories(ref.getParent());
            AtomicFiles.writeFile(ref, tmp -> Files.writeString(tmp, commit, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new HubException(HubException.Reason.CACHE, ref + ": cannot write: " + MessageText.reason(e), e);
        }
    }

    private Path ref(RepoId repo, String revision) {
        checkRevision(revision);
        return repoFolder(repo).resolve("refs").resolve(revision);
    }

    /** Refuses a revision that cannot be a branch, tag or commit name, nor a file under {@code refs/}. */
    static void checkRevision(String revision) {
        boolean bad = revision == null || revision.isEmpty() || revision.startsWith("/") || revision.endsWith("/") || revision.contains("\\")
                || revision.indexOf(0) >= 0 || revision.chars().anyMatch(Character::isISOControl);
        if (!bad) {
            for (String part : revision.split("/")) bad |= part.isEmpty() || part.equals(".") || part.equals("..");
        }
        if (bad) throw new HubException(HubException.Reason.INVALID_NAME, "revision '" + (revision == null ? "" : MessageText.oneLine(revision))
                + "' is not a branch, tag or commit name");
    }

    /**
     * Makes {@code pointer} a relative symbolic link to {@code blob} (replacing what was there), or where links are not
     * supported, a copy; a {@code newBlob} (one no other snapshot uses yet) is moved instead of copied.
     */
    public void link(Path blob, Path pointer, boolean newBlob) {
        try {
            Files.createDirectories(pointer.getParent());
            Path target = pointer.getParent().relativize(blob);
            Files.deleteIfExists(pointer);
            try {
                Files.createSymbolicLink(pointer, target);
                return;
            } catch (FileAlreadyExistsException raced) {
                // another process linked it between the delete and the link: fine when it is the same blob
                if (Files.isSymbolicLink(pointer) && Files.isSameFile(pointer, blob)) return;
                throw raced;
            } catch (UnsupportedOperationException | FileSystemException noLinks) {
                // no symbolic links on this file system: a copy, as huggingface_hub makes
            }
            if (newBlob) {
                try {
                    Files.move(blob, pointer, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(blob, pointer);
                }
            } else {
                Files.copy(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new HubException(HubException.Reason.CACHE, pointer + ": cannot link to " + blob + ": " + MessageText.reason(e), e);
        }
    }

    /** The repository paths the snapshot holds as readable files (links followed), with '/' separators. */
    public Set<String> snapshotFiles(RepoId repo, String commit) {
        Path snapshot = snapshot(repo, commit);
        Set<String> out = new TreeSet<>();
        if (!Files.isDirectory(snapshot)) return out;
        try (Stream<Path> s = Files.walk(snapshot)) {
            s.filter(Files::isRegularFile).forEach(p -> out.add(snapshot.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/")));
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new HubException(HubException.Reason.CACHE, snapshot + ": cannot list: " + e.getMessage(), e);
        }
        return out;
    }
}
