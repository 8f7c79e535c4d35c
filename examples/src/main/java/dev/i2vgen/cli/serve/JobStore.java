package dev.i2vgen.cli.serve;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The server's jobs: a bounded queue of those waiting (one runs at a time, taken by the worker), and every job until
 * its result expires ({@code retention} after it finished: then its files are deleted and it is forgotten).
 * Thread-safe; the worker blocks in {@link #takeNext} until a job comes or the store closes.
 */
final class JobStore {
    /** Assumed time of one job for {@code Retry-After} until one has finished. */
    private static final double FIRST_GUESS_SECONDS = 30;

    private final int capacity;
    private final Duration retention;
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    private Job running;
    private boolean closed;
    /** Moving average of the run time of finished jobs, for Retry-After. */
    private double averageRunSeconds = FIRST_GUESS_SECONDS;
    private boolean measured;

    JobStore(int capacity, Duration retention) {
        this.capacity = capacity;
        this.retention = retention;
    }

    /**
     * Queues a job; a full queue is a 429 with a {@code Retry-After} of the expected wait for one place, a closed store
     * (the server is shutting down) a 503.
     */
    synchronized void submit(Job job) {
        if (closed) throw new ApiError(503, "the server is shutting down and takes no new jobs");
        if (queue.size() >= capacity) {
            long wait = Math.max(1, (long) Math.ceil(averageRunSeconds));
            throw new ApiError(429, "the queue is full (" + capacity + " jobs waiting); try again in about "
                    + wait + " s", Map.of("Retry-After", Long.toString(wait)));
        }
        jobs.put(job.id(), job);
        queue.addLast(job);
        notifyAll();
    }

    /** The next job to run (cancelled ones are skipped), or null once the store is closed. */
    synchronized Job takeNext() throws InterruptedException {
        while (true) {
            if (closed) return null;
            Job next = queue.pollFirst();
            if (next != null && next.start()) {
                running = next;
                return next;
            }
            if (next == null) wait();
        }
    }

    /** The worker is done with the running job: its run time feeds the Retry-After estimate. */
    synchronized void finished(Job job, double runSeconds) {
        if (running == job) running = null;
        averageRunSeconds = measured ? 0.7 * averageRunSeconds + 0.3 * runSeconds : runSeconds;
        measured = true;
        notifyAll();
    }

    synchronized Optional<Job> get(String id) { return Optional.ofNullable(jobs.get(id)); }

    /** Cancels a job (a queued one leaves the queue at once, and its uploaded image is deleted). */
    synchronized JobStatus cancel(Job job) {
        JobStatus after = job.requestCancel();
        if (after == JobStatus.CANCELLED && job != running) {
            queue.remove(job);
            deleteQuietly(job.upload());
        }
        return after;
    }

    /** 1 for the next job to run, null for a job that is not queued. */
    synchronized Integer queuePosition(Job job) {
        int i = 1;
        for (Job j : queue) {
            if (j == job) return i;
            i++;
        }
        return null;
    }

    /** The most recent jobs first, at most {@code limit}. */
    synchronized List<Job> recent(int limit) {
        List<Job> all = new ArrayList<>(jobs.values());
        List<Job> out = new ArrayList<>();
        for (int i = all.size() - 1; i >= 0 && out.size() < limit; i--) out.add(all.get(i));
        return out;
    }

    synchronized int queued() { return queue.size(); }

    synchronized Job running() { return running; }

    /** Forgets the jobs finished more than the retention ago and deletes their files; returns how many. */
    int expire(Instant now) {
        List<Job> expired = new ArrayList<>();
        synchronized (this) {
            jobs.values().removeIf(j -> {
                Instant end = j.finishedAt();
                boolean old = end != null && j.status().finished() && end.plus(retention).isBefore(now);
                if (old) expired.add(j);
                return old;
            });
        }
        for (Job j : expired) {
            deleteQuietly(j.video());
            deleteQuietly(j.gif());
        }
        return expired.size();
    }

    /**
     * Closes the store: no more jobs are taken, the queued ones are cancelled, and the running one is asked to stop at
     * its next step; returns it (null if none) so that the caller can wait for it.
     */
    synchronized Job close() {
        closed = true;
        for (Job j : queue) j.requestCancel();
        queue.clear();
        if (running != null) running.requestCancel();
        notifyAll();
        return running;
    }

    /** Waits until no job runs or the timeout passed; true if none runs. */
    synchronized boolean awaitIdle(long timeoutMillis) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        for (long left = timeoutMillis; running != null && left > 0; left = end - System.currentTimeMillis()) wait(left);
        return running == null;
    }

    static void deleteQuietly(Path file) {
        if (file == null) return;
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a file someone else holds or removed: the next sweep of the folder tries again
        }
    }
}
