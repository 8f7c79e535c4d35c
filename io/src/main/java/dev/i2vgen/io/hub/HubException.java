package dev.i2vgen.io.hub;

/**
 * A model that could not be fetched from the Hugging Face Hub or found in its cache. The message is one line that
 * names the repository (and file) and says what to do; {@link #reason()} tells the kind, and whether it is the
 * request's fault ({@link Reason#badInput()}) or a failure while running (network, server, disk).
 */
public final class HubException extends RuntimeException {
    /** What went wrong. */
    public enum Reason {
        /** Not a repository id, or a revision name that cannot be a cache path. */
        INVALID_NAME(true),
        /** No such repository, or a private/gated one without a token that gives access (the Hub's 401 and 404). */
        REPOSITORY_NOT_FOUND(true),
        /** The token was refused ("Invalid credentials"). */
        INVALID_TOKEN(true),
        /** A gated repository whose terms the token's account has not accepted (403 GatedRepo), or another 403. */
        ACCESS_DENIED(true),
        REVISION_NOT_FOUND(true),
        /** A file the repository listed is missing at the commit (404 EntryNotFound). */
        FILE_NOT_FOUND(true),
        /** Offline ({@code HF_HUB_OFFLINE}) or the Hub unreachable, and the cache does not hold what is needed. */
        NOT_CACHED(true),
        /** The Hub could not be reached, or the connection failed, after the retries. */
        NETWORK(false),
        /** The server answered with an error (5xx, 429 after the retries) or without what the Hub always sends. */
        SERVER(false),
        /** A download did not match the size or checksum the Hub gave, twice; nothing was added to the cache. */
        CORRUPT_DOWNLOAD(false),
        /** The cache folder could not be written or read. */
        CACHE(false);

        private final boolean badInput;

        Reason(boolean badInput) { this.badInput = badInput; }

        /** The request's fault (exit code 2 in the CLI), rather than a failure while running. */
        public boolean badInput() { return badInput; }
    }

    private final Reason reason;
    private final boolean retryable;

    public HubException(Reason reason, String message) { this(reason, message, null, false); }

    public HubException(Reason reason, String message, Throwable cause) { this(reason, message, cause, false); }

    HubException(Reason reason, String message, Throwable cause, boolean retryable) {
        super(message, cause);
        this.reason = reason;
        this.retryable = retryable;
    }

    public Reason reason() { return reason; }

    /** A transient server answer (408, 429, 5xx) that a retry may get past. */
    boolean retryable() { return retryable; }
}
