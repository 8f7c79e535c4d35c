package dev.i2vgen.cli.serve;

/**
 * Where tests hold a running job to make a full queue or a cancellation deterministic (no sleeps): called on the
 * worker thread after each step has been reported, before the cancellation check.
 */
interface JobHooks {
    JobHooks NONE = (id, step, total) -> { };

    void afterStep(String jobId, int step, int total);
}
