package dev.i2vgen.io.hub;

import java.time.Duration;

/**
 * How often a failed request or download is retried, and how long to wait between tries: huggingface_hub's backoff
 * ({@code utils/_http.py}: 5 retries, waiting 1 s, doubling up to 8 s) on connection errors, timeouts and the answers
 * 408, 429, 500, 502, 503 and 504. A download retry resumes where the data stopped, and data received resets the count.
 */
public record RetryPolicy(int maxRetries, Duration firstWait, Duration maxWait) {
    public RetryPolicy {
        if (maxRetries < 0) throw new IllegalArgumentException("maxRetries must be >= 0, got " + maxRetries);
        if (firstWait == null || firstWait.isNegative()) throw new IllegalArgumentException("firstWait must be >= 0, got " + firstWait);
        if (maxWait == null || maxWait.compareTo(firstWait) < 0) throw new IllegalArgumentException("maxWait must be >= firstWait, got " + maxWait);
    }

    /** huggingface_hub's defaults. */
    public static RetryPolicy defaults() { return new RetryPolicy(5, Duration.ofSeconds(1), Duration.ofSeconds(8)); }

    /** The wait before retry number {@code retry} (1 for the first). */
    public Duration waitBefore(int retry) {
        Duration d = firstWait;
        for (int i = 1; i < retry && d.compareTo(maxWait) < 0; i++) d = d.multipliedBy(2);
        return d.compareTo(maxWait) > 0 ? maxWait : d;
    }

    /** Whether an HTTP status is worth retrying. */
    static boolean retryableStatus(int status) {
        return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
    }
}
