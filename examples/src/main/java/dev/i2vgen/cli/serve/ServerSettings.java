package dev.i2vgen.cli.serve;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How {@code i2vgen serve} runs: where it listens ({@code port} 0 = any free port), the bearer token the API requires
 * (null = none), where finished videos go and how long they are kept, how many jobs may wait, and the limits of one job.
 */
record ServerSettings(String host, int port, String token, Path outputDir, Duration retention, int queueSize, JobLimits limits) {
    ServerSettings {
        if (queueSize < 1) throw new IllegalArgumentException("the queue must hold at least 1 job, got " + queueSize);
        if (retention.isNegative() || retention.isZero()) throw new IllegalArgumentException("the retention must be positive, got " + retention);
    }
}
