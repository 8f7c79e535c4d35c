package dev.i2vgen.io.hub;

import dev.i2vgen.io.MessageText;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Puts one file of a repository into the cache: under the blob's lock, downloads the blob unless it is there, then
 * links the snapshot entry to it. The bytes go to {@code blobs/<etag>.incomplete}, which a failed try leaves for the
 * next one (of this run or a later one) to resume with {@code Range}; connection errors, stalls and 408/429/5xx are
 * retried with backoff, the count starting over whenever data arrived. The finished file is checked against the
 * size and checksum the Hub announced before it is renamed into {@code blobs/}: a mismatch is removed and downloaded
 * once more from the start, and a second one is an error that leaves nothing of the file in the cache.
 */
final class BlobDownload {
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-\\d+/(\\d+|\\*)");
    private static final int BUFFER = 1 << 20;

    private final HubClient client;
    private final HubCache cache;
    private final RetryPolicy retries;

    BlobDownload(HubClient client, HubCache cache, RetryPolicy retries) {
        this.client = client;
        this.cache = cache;
        this.retries = retries;
    }

    /** The blob of {@code file} in the cache and {@code snapshots/<commit>/<path>} pointing to it. */
    void fetch(RepoId repo, String commit, RemoteFile file, DownloadListener listener) {
        Path blob = cache.blob(repo, file.etag());
        Path pointer = cache.pointer(repo, commit, file.path());
        Path lockFile = cache.lockFile(repo, file.etag());
        try {
            Files.createDirectories(blob.getParent());
            try (BlobLock lock = BlobLock.acquire(lockFile, () -> listener.notice("waiting for another download of "
                    + file.path() + " to finish (lock " + lockFile + ")"))) {
                boolean fresh = !Files.exists(blob);
                if (fresh) download(repo, file, blob, listener);
                if (!Files.exists(pointer)) cache.link(blob, pointer, fresh);
            }
        } catch (IOException e) {
            throw new HubException(HubException.Reason.CACHE, repo + " file '" + file.path() + "': cannot write the cache "
                    + cache.root() + ": " + MessageText.reason(e), e);
        }
    }

    private void download(RepoId repo, RemoteFile file, Path blob, DownloadListener listener) throws IOException {
        Path part = HubCache.incomplete(blob);
        String what = repo + " file '" + file.path() + "'";
        listener.fileStarting(file.path(), file.size());
        int failures = 0;
        boolean startedOver = false;
        while (true) {
            long had = sizeOf(part);
            if (had > file.size()) {
                restart(part, had, listener);
                had = 0;
            }
            try {
                if (had < file.size()) transfer(repo, file, part, had, listener);
                String mismatch = BlobChecksum.mismatch(part, file.etag(), file.size());
                if (mismatch == null) {
                    moveIntoPlace(part, blob);
                    return;
                }
                restart(part, sizeOf(part), listener);
                Files.deleteIfExists(part);
                if (startedOver) {
                    throw new HubException(HubException.Reason.CORRUPT_DOWNLOAD, what + " as downloaded does not match the Hub: "
                            + mismatch + ", twice; it was removed and nothing of it is in the cache (try again later; if this"
                            + " persists, something between you and " + client.settings().endpoint() + " changes the file)");
                }
                startedOver = true;
                listener.retrying(what, 1, 1, "the download does not match the Hub (" + mismatch + "); downloading it again", Duration.ZERO);
            } catch (IOException | HubException e) {
                if (e instanceof HubException h && !h.retryable()) throw h;
                if (Thread.currentThread().isInterrupted()) {
                    throw new HubException(HubException.Reason.NETWORK, "interrupted while downloading " + what
                            + "; the partial download is kept in " + part + " and resumed next time", e);
                }
                failures = sizeOf(part) > had ? 1 : failures + 1;
                String reason = e instanceof IOException io ? HubClient.describe(io) : e.getMessage();
                if (failures > retries.maxRetries()) {
                    throw new HubException(e instanceof HubException ? HubException.Reason.SERVER : HubException.Reason.NETWORK,
                            "downloading " + what + " failed (" + reason + ") after " + retries.maxRetries() + " retries without progress;"
                            + " the " + sizeOf(part) + " of " + file.size() + " bytes received are kept in " + part
                            + " and the next run resumes from there", e);
                }
                Duration wait = retries.waitBefore(failures);
                listener.retrying(what, failures, retries.maxRetries(), reason, wait);
                HubClient.sleep(wait, what);
            }
        }
    }

    /** Appends the file's bytes from {@code offset} to {@code part}; throws when the connection ends early or stalls. */
    private void transfer(RepoId repo, RemoteFile file, Path part, long offset, DownloadListener listener) throws IOException {
        HttpResponse<InputStream> response = client.openBytes(repo, file, offset);
        int status = response.statusCode();
        if (status == 416) {   // the partial file is longer than (or not part of) the server's file
            response.body().close();
            restart(part, offset, listener);
            throw new IOException("the server cannot resume at byte " + offset + " (HTTP 416); starting over");
        }
        long position = offset;
        if (status == 200 && offset > 0) {   // the server ignored the Range: its answer is the whole file
            restart(part, offset, listener);
            position = 0;
        } else if (status == 206) {
            long start = rangeStart(response);
            if (start != offset) {
                response.body().close();
                throw new IOException("the server resumed at byte " + start + " where " + offset + " was asked");
            }
        }
        // The watch is closed first, so the interrupt of a stall is cleared before the files are.
        try (InputStream in = response.body();
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     position == 0 ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND);
             ReadTimeout stall = ReadTimeout.start(client.settings().timeout())) {
            byte[] buffer = new byte[BUFFER];
            try {
                for (int n; position < file.size() && (n = in.read(buffer)) > 0; ) {
                    int keep = (int) Math.min(n, file.size() - position);   // more than announced: the checksum decides
                    out.write(buffer, 0, keep);
                    position += keep;
                    stall.progress();
                    listener.transferred(keep);
                }
            } catch (IOException e) {
                if (stall.fired()) throw new IOException("no data for " + client.settings().timeout().toSeconds() + " s", e);
                throw e;
            }
        }
        if (position < file.size()) throw new IOException("the connection ended after " + position + " of " + file.size() + " bytes");
    }

    private static long rangeStart(HttpResponse<?> response) throws IOException {
        String range = response.headers().firstValue("Content-Range").orElse("");
        Matcher m = CONTENT_RANGE.matcher(range.strip());
        if (!m.matches()) throw new IOException("the server answered 206 with Content-Range '" + range + "'");
        return Long.parseLong(m.group(1));
    }

    /** Empties the partial file, telling the listener that its bytes no longer count. */
    private static void restart(Path part, long had, DownloadListener listener) throws IOException {
        if (Files.exists(part)) {
            try (FileChannel ch = FileChannel.open(part, StandardOpenOption.WRITE)) {
                ch.truncate(0);
            }
        }
        if (had > 0) listener.transferred(-had);
    }

    private static void moveIntoPlace(Path part, Path blob) throws IOException {
        try {
            Files.move(part, blob, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(part, blob, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static long sizeOf(Path p) throws IOException {
        return Files.exists(p) ? Files.size(p) : 0;
    }
}
