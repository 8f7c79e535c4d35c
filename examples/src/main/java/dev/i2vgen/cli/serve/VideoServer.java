package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.CliErrors;
import dev.i2vgen.cli.LoadedPipeline;
import dev.i2vgen.cli.ModelCheckpoint;
import io.javalin.Javalin;
import io.javalin.config.SizeUnit;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code i2vgen serve}'s server: the HTTP API and the web page (Javalin on Jetty), one worker thread that runs the jobs
 * on the pipeline loaded once, the job store with its bounded queue, and a sweeper that deletes results older than the
 * retention. {@link #close} shuts down gracefully: new jobs are refused (503), queued ones cancelled, the running one
 * cancelled at its next step and waited for (its video is never half-written), then HTTP stops and the pipeline is
 * released.
 */
public final class VideoServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VideoServer.class.getName());
    /** How long {@link #close} waits for the running job to reach its next step. */
    private static final Duration STOP_WAIT = Duration.ofMinutes(2);

    private final Javalin app;
    private final JobStore store;
    private final Thread worker;
    private final ScheduledExecutorService sweeper;
    private final LoadedPipeline pipeline;
    private final Path uploadDir;
    private final ServerSettings settings;
    private boolean closed;

    private VideoServer(ServerSettings settings, ModelCheckpoint checkpoint, LoadedPipeline pipeline, String dtype, JobHooks hooks)
            throws IOException {
        this.settings = settings;
        this.pipeline = pipeline;
        Files.createDirectories(settings.outputDir());
        this.uploadDir = Files.createTempDirectory("i2vgen-serve-uploads-");
        this.store = new JobStore(settings.queueSize(), settings.retention());
        JobLimits limits = settings.limits();
        VideoApi api = new VideoApi(store, new JobSubmission(checkpoint, limits, uploadDir), limits,
                ModelDescription.of(checkpoint, pipeline.deviceDescription(), dtype, limits));
        this.worker = Thread.ofPlatform().name("i2vgen-serve-worker").unstarted(new JobWorker(pipeline, store, settings.outputDir(), hooks));
        this.sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("i2vgen-serve-sweeper").daemon().factory());
        this.app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.concurrency.useVirtualThreads = true;
            config.jetty.host = settings.host();
            config.jetty.port = settings.port();
            config.jetty.multipartConfig.cacheDirectory(uploadDir.toString());
            // Jetty bounds only the whole form (for uploads without a Content-Length): a part over a limit of its own
            // makes Jetty drop the connection without an answer; the image's own limit is checked once it is read (413)
            long formLimit = limits.maxUploadBytes() + VideoApi.FORM_ALLOWANCE;
            config.jetty.multipartConfig.maxFileSize(formLimit, SizeUnit.BYTES);
            config.jetty.multipartConfig.maxTotalRequestSize(formLimit, SizeUnit.BYTES);
            config.jetty.multipartConfig.maxInMemoryFileSize(1, SizeUnit.MB);
            config.staticFiles.add(files -> {
                files.hostedPath = "/";
                files.directory = "/web";
                files.location = Location.CLASSPATH;
            });
            config.routes.beforeMatched(this::authorize);
            config.routes.get("/healthz", ctx -> Json.send(ctx, 200, Map.of("status", "ok", "queued", store.queued(),
                    "running", store.running() != null)));
            config.routes.get("/v1/models", api::models);
            config.routes.post("/v1/videos", api::submit);
            config.routes.get("/v1/videos", api::list);
            config.routes.get("/v1/videos/{id}", api::get);
            config.routes.delete("/v1/videos/{id}", api::cancel);
            config.routes.get("/v1/videos/{id}/content", api::content);
            config.routes.get("/v1/videos/{id}/events", api::events);
            config.routes.exception(ApiError.class, (e, ctx) -> {
                e.headers().forEach(ctx::header);
                Json.send(ctx, e.status(), Map.of("error", e.getMessage()));
            });
            config.routes.exception(Exception.class, (e, ctx) -> {
                LOG.log(System.Logger.Level.WARNING, "request " + ctx.method() + " " + ctx.path() + " failed", e);
                Json.send(ctx, CliErrors.isBadInput(e) ? 400 : 500, Map.of("error", CliErrors.message(e)));
            });
        });
    }

    /**
     * Starts serving {@code pipeline} (which the server then owns and closes, also when it cannot start) of
     * {@code checkpoint}.
     *
     * @param hooks where tests hold a running job ({@link JobHooks#NONE} otherwise)
     */
    static VideoServer start(ServerSettings settings, ModelCheckpoint checkpoint, LoadedPipeline pipeline, String dtype, JobHooks hooks)
            throws IOException {
        VideoServer server;
        try {
            server = new VideoServer(settings, checkpoint, pipeline, dtype, hooks);
        } catch (IOException | RuntimeException e) {
            pipeline.close();
            throw e;
        }
        server.sweep();
        server.worker.start();
        long every = Math.clamp(settings.retention().toSeconds() / 4, 1, 60);
        server.sweeper.scheduleWithFixedDelay(server::sweep, every, every, TimeUnit.SECONDS);
        try {
            server.app.start();
        } catch (RuntimeException e) {   // the port is taken, the host unknown: nothing is left running
            server.close();
            throw e;
        }
        return server;
    }

    /** The port it listens on (the one chosen when the settings asked for 0). */
    public int port() { return app.port(); }

    /** A job of this server, also after {@link #close} (tests). */
    java.util.Optional<Job> job(String id) { return store.get(id); }

    /** The address of the web page. */
    public URI url() {
        String host = settings.host().contains(":") ? "[" + settings.host() + "]" : settings.host();
        return URI.create("http://" + host + ":" + port() + "/");
    }

    /** The API needs the bearer token when the server has one; the page, its files and /healthz do not. */
    private void authorize(Context ctx) {
        if (settings.token() == null || !ctx.path().startsWith("/v1/")) return;
        String header = ctx.header("Authorization");
        byte[] expected = ("Bearer " + settings.token()).getBytes(StandardCharsets.UTF_8);
        if (header == null || !MessageDigest.isEqual(expected, header.getBytes(StandardCharsets.UTF_8))) {
            throw new ApiError(401, "this server needs its API token: send 'Authorization: Bearer <token>' (the token given to"
                    + " i2vgen serve --token or I2VGEN_TOKEN)", Map.of("WWW-Authenticate", "Bearer realm=\"i2vgen\""));
        }
    }

    /** Forgets expired jobs and deletes their videos, and videos of earlier runs of a server in the folder that are as old. */
    private void sweep() {
        Instant now = Instant.now();
        try {
            store.expire(now);
            Instant cutoff = now.minus(settings.retention());
            try (Stream<Path> files = Files.list(settings.outputDir())) {
                files.filter(p -> p.getFileName().toString().matches("[0-9a-f]{32}\\.(mp4|gif)")).forEach(p -> {
                    try {
                        if (Files.getLastModifiedTime(p).toInstant().isBefore(cutoff)) Files.deleteIfExists(p);
                    } catch (IOException e) {
                        // gone already, or not ours to delete: the next sweep tries again
                    }
                });
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "sweeping " + settings.outputDir() + " failed", e);
        }
    }

    /** Graceful shutdown (see the class); idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Job running = store.close();
        boolean stopped = false;
        try {
            if (running != null) LOG.log(System.Logger.Level.INFO, "cancelling job " + running.id() + " at its next step");
            stopped = worker.join(STOP_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        app.stop();
        sweeper.shutdownNow();
        if (stopped) pipeline.close();   // else the worker still uses it: the process ends it
        else LOG.log(System.Logger.Level.WARNING, "the running job did not stop within " + STOP_WAIT + "; leaving the device as it is");
        deleteTree(uploadDir);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(JobStore::deleteQuietly);
        } catch (IOException | UncheckedIOException e) {
            // a temporary folder: the system cleans it eventually
        }
    }
}
