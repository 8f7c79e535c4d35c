package dev.i2vgen.cli.serve;

import java.util.Locale;

/** Where a video job is; the last three are final. */
enum JobStatus {
    QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

    boolean finished() { return this == SUCCEEDED || this == FAILED || this == CANCELLED; }

    /** The name in the API ({@code queued}, {@code running}, ...). */
    String apiName() { return name().toLowerCase(Locale.ROOT); }
}
