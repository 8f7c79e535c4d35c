package dev.i2vgen.io.hub;

import java.time.Duration;
import java.util.List;

/**
 * What a model download reports as it goes, for a progress bar (the CLI's) or a log. Called on the downloading thread;
 * every method has an empty default.
 */
public interface DownloadListener {
    DownloadListener NONE = new DownloadListener() {};

    /**
     * The files about to be downloaded (those the cache lacks), their total size, and how much of it partial downloads
     * left by an earlier run already hold (it is resumed, not fetched again). Not called when nothing is missing.
     */
    default void downloadStarting(String repository, List<String> files, long totalBytes, long alreadyDownloaded) {}

    /** A file's download begins (or resumes). */
    default void fileStarting(String file, long size) {}

    /** Bytes received; negative when a server ignored a resume request and the partial file starts over. */
    default void transferred(long bytes) {}

    /** A failed request or download that will be tried again after {@code wait}: attempt {@code retry} of {@code maxRetries}. */
    default void retrying(String what, int retry, int maxRetries, String reason, Duration wait) {}

    /** Something worth telling that is not an error: waiting for another process's download, the cache used offline. */
    default void notice(String message) {}

    /** Every file of {@link #downloadStarting} is in the cache. */
    default void downloadFinished() {}
}
