package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.CliErrors;
import dev.i2vgen.cli.DeviceOptions;
import dev.i2vgen.cli.LoadedPipeline;
import dev.i2vgen.cli.ModelCheckpoint;
import dev.i2vgen.cli.ModelOptions;
import dev.i2vgen.io.AtomicFiles;
import dev.i2vgen.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code i2vgen serve}: loads the pipeline once and serves an HTTP API and a web page that queue video jobs on it (see
 * {@link VideoServer}). Runs until SIGINT/SIGTERM, then shuts down gracefully.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve an HTTP API (POST /v1/videos, GET /v1/videos/{id}, .../content, .../events) and a web page at /",
                "that generate videos with the checkpoint's pipeline, loaded once and kept on the device; one job runs at a time.",
                "Without --model, serves the built-in tiny I2VGen-XL demo model."})
public final class ServeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** --model DIR|ORG/NAME and --revision; made by the command line's factory (the Hub settings' environment). */
    @CommandLine.Mixin
    ModelOptions modelOptions;

    @CommandLine.Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on; 0.0.0.0 for every interface (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "port to listen on, 0 for any free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:I2VGEN_TOKEN}",
            description = "API token clients must send as 'Authorization: Bearer TOKEN' (default: $I2VGEN_TOKEN; none: no token needed)")
    String token;

    @Option(names = "--output-dir", paramLabel = "DIR", defaultValue = "i2vgen-videos",
            description = "where finished videos are written, <id>.mp4 and <id>.gif (default: ${DEFAULT-VALUE}, created if missing)")
    Path outputDir;

    @Option(names = "--retention", paramLabel = "DURATION", defaultValue = "24h", converter = DurationConverter.class,
            description = "how long finished jobs and their videos are kept: 90s, 30m, 24h, 7d (default: ${DEFAULT-VALUE})")
    Duration retention;

    @Option(names = "--queue-size", defaultValue = "8", description = "jobs that may wait while one runs; more are refused with 429 (default: ${DEFAULT-VALUE})")
    int queueSize;

    @Option(names = "--max-upload", paramLabel = "SIZE", defaultValue = "20MiB", converter = ByteSizeConverter.class,
            description = "largest image upload; larger is refused with 413 (default: ${DEFAULT-VALUE})")
    long maxUpload;

    @Option(names = "--max-pixels", defaultValue = "1310720", description = "largest --height × --width of a job (default: ${DEFAULT-VALUE}, 1280×1024)")
    long maxPixels;

    @Option(names = "--max-frames", defaultValue = "64", description = "most --frames of a job (default: ${DEFAULT-VALUE})")
    int maxFrames;

    @Option(names = "--max-steps", defaultValue = "200", description = "most --steps of a job (default: ${DEFAULT-VALUE})")
    int maxSteps;

    @Override
    public Integer call() throws Exception {
        ServerSettings settings = settings();
        String device = deviceOptions.backendName(spec.commandLine());
        DType dtype = deviceOptions.precision(spec.commandLine());
        Path model;
        try (ModelOptions hub = modelOptions) {   // the Hub connection is needed only until the folder is resolved
            modelOptions.check(spec.commandLine());
            // an unsupported pipeline is named before the folder is checked whole (or a Hub model's weights are fetched)
            if (modelOptions.given()) modelOptions.pipelineClass(spec.commandLine());
            model = modelOptions.given() ? modelOptions.checkpointFolder(dtype, spec.commandLine()) : null;
        }
        var err = spec.commandLine().getErr();
        if (model == null) err.println("No --model given: serving the built-in tiny demo model (random weights; the videos are noise-like).");
        ModelCheckpoint checkpoint = ModelCheckpoint.open(model);
        LoadedPipeline pipeline = checkpoint.load(device, deviceOptions.ordinals(device, spec.commandLine()), dtype);
        err.println(pipeline.description());
        CountDownLatch stopped = new CountDownLatch(1);
        VideoServer server;
        try {
            server = VideoServer.start(settings, checkpoint, pipeline, dtype.toString(), JobHooks.NONE);
        } catch (RuntimeException e) {   // the server has closed the pipeline
            throw new CliErrors.BadInputException("cannot listen on " + host + ":" + port + ": " + CliErrors.message(e), e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("Shutting down: no new jobs; a running job stops at its next step.");
            server.close();
            stopped.countDown();
        }, "i2vgen-serve-shutdown"));
        err.println("Serving " + checkpoint.pipelineClass() + " on " + server.url() + " (API: " + server.url() + "v1/videos"
                + (settings.token() != null ? ", bearer token required" : "") + "); videos in " + settings.outputDir().toAbsolutePath()
                + ", kept " + DurationText.of(settings.retention()) + ". Ctrl-C stops.");
        err.flush();
        stopped.await();
        return 0;
    }

    /** The server's options checked before the model is loaded. */
    private ServerSettings settings() throws IOException {
        if (port < 0 || port > 65535) fail("--port must be between 0 and 65535, got " + port);
        if (queueSize < 1) fail("--queue-size must be at least 1, got " + queueSize);
        if (retention.isNegative() || retention.isZero()) fail("--retention must be positive, got " + DurationText.of(retention));
        if (maxUpload < 1) fail("--max-upload must be at least 1 byte, got " + maxUpload);
        if (maxPixels < 1) fail("--max-pixels must be at least 1, got " + maxPixels);
        if (maxFrames < 1) fail("--max-frames must be at least 1, got " + maxFrames);
        if (maxSteps < 1) fail("--max-steps must be at least 1, got " + maxSteps);
        if (token != null && token.isBlank()) fail("--token is empty (leave it out, and I2VGEN_TOKEN unset, for a server without a token)");
        try {
            Files.createDirectories(outputDir);
            AtomicFiles.checkFileTarget(outputDir.resolve("probe.mp4"));
        } catch (IOException e) {
            fail("--output-dir " + outputDir + ": " + e.getMessage());
        }
        return new ServerSettings(host, port, token, outputDir, retention, queueSize, new JobLimits(maxUpload, maxPixels, maxFrames, maxSteps));
    }

    private void fail(String message) { throw new CommandLine.ParameterException(spec.commandLine(), message); }
}
