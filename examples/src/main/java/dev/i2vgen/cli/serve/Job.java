package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.GenerationParameters;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One video job: its validated parameters, the uploaded image waiting for it, and where it is (status, stage, step,
 * error, result files). Thread-safe: the worker updates it, HTTP handlers read it; every change bumps a version that
 * {@link #awaitChange} waits on (the event streams).
 */
final class Job {
    private final String id;
    private final GenerationParameters parameters;
    private final Path upload;
    private final Instant created = Instant.now();

    private JobStatus status = JobStatus.QUEUED;
    private String stage;
    private int step, total;
    private Instant started, finished;
    private long startedNanos;
    private String error;
    private Path video, gif;
    private long version;
    /** Read by the worker's listener between steps, set by a DELETE on an HTTP thread. */
    private volatile boolean cancelRequested;

    Job(String id, GenerationParameters parameters, Path upload) {
        this.id = id;
        this.parameters = parameters;
        this.upload = upload;
        this.total = parameters.steps();
    }

    String id() { return id; }

    GenerationParameters parameters() { return parameters; }

    /** The uploaded image, kept on disk until the job runs. */
    Path upload() { return upload; }

    synchronized JobStatus status() { return status; }

    synchronized Instant finishedAt() { return finished; }

    synchronized Path video() { return video; }

    synchronized Path gif() { return gif; }

    boolean cancelRequested() { return cancelRequested; }

    /** Queued → running; false when it was cancelled while queued. */
    synchronized boolean start() {
        if (status != JobStatus.QUEUED) return false;
        status = JobStatus.RUNNING;
        started = Instant.now();
        startedNanos = System.nanoTime();
        changed();
        return true;
    }

    synchronized void stage(String name) {
        stage = name;
        changed();
    }

    synchronized void progress(int done, int of) {
        step = done;
        total = of;
        changed();
    }

    synchronized void succeed(Path videoFile, Path gifFile) {
        video = videoFile;
        gif = gifFile;
        finish(JobStatus.SUCCEEDED, null);
    }

    synchronized void fail(String message) { finish(JobStatus.FAILED, message); }

    synchronized void cancelled() { finish(JobStatus.CANCELLED, null); }

    /**
     * Cancels a queued job at once and a running one at its next step (the worker then calls {@link #cancelled});
     * a finished job stays as it is.
     *
     * @return the status after the request
     */
    synchronized JobStatus requestCancel() {
        if (status == JobStatus.QUEUED) finish(JobStatus.CANCELLED, null);
        else if (status == JobStatus.RUNNING) cancelRequested = true;
        return status;
    }

    private void finish(JobStatus end, String message) {
        status = end;
        error = message;
        finished = Instant.now();
        changed();
    }

    private void changed() {
        version++;
        notifyAll();
    }

    synchronized long version() { return version; }

    /** Waits until the version differs from {@code seen} or {@code timeoutMillis} passed; returns the version then. */
    synchronized long awaitChange(long seen, long timeoutMillis) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        for (long left = timeoutMillis; version == seen && left > 0; left = end - System.currentTimeMillis()) wait(left);
        return version;
    }

    /** The job as the API shows it; {@code queuePosition} 1 = next to run, null when not queued. */
    synchronized Map<String, Object> describe(Integer queuePosition) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("status", status.apiName());
        m.put("pipeline", parameters.pipeline());
        m.put("created_at", created.toString());
        m.put("started_at", started == null ? null : started.toString());
        m.put("finished_at", finished == null ? null : finished.toString());
        if (queuePosition != null) m.put("queue_position", queuePosition);
        m.put("stage", stage);
        m.put("progress", Map.of("step", step, "total", total));
        m.put("eta_seconds", etaSeconds());
        m.put("parameters", parameters.byOptionName());
        if (error != null) m.put("error", error);
        if (status == JobStatus.SUCCEEDED) {
            m.put("content_url", "/v1/videos/" + id + "/content");
            m.put("gif_url", "/v1/videos/" + id + "/content?format=gif");
        }
        return m;
    }

    /** Time left of the denoising steps, from the time per step so far (null before the first step or when not running). */
    private Double etaSeconds() {
        if (status != JobStatus.RUNNING || step == 0) return null;
        double perStep = (System.nanoTime() - startedNanos) / 1e9 / step;
        return Math.round(perStep * Math.max(0, total - step) * 10) / 10.0;
    }
}
