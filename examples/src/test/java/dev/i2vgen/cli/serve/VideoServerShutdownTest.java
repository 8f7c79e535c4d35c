package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.LoadedPipeline;
import dev.i2vgen.cli.ModelCheckpoint;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Graceful shutdown: new jobs refused, the queued one cancelled, the running one stopped at its next step, nothing written. */
class VideoServerShutdownTest {
    @Test
    void closeRefusesNewJobsCancelsTheOthersAndWritesNothing(@TempDir Path outputDir) throws Exception {
        try (ReferenceCase tiny = ReferenceCase.bundled("tiny")) {
            ModelCheckpoint checkpoint = ModelCheckpoint.open(tiny.checkpoint());
            LoadedPipeline pipeline = checkpoint.load("jvm", DType.F32);
            StepGate gate = new StepGate();
            ServerSettings settings = new ServerSettings("127.0.0.1", 0, null, outputDir, Duration.ofHours(1), 4,
                    new JobLimits(1 << 20, 1 << 20, 8, 10));
            VideoServer server = VideoServer.start(settings, checkpoint, pipeline, "F32", gate);
            ApiClient api = new ApiClient(server.url(), null);
            byte[] image = Files.readAllBytes(tiny.inputImage());
            Map<String, String> small = Map.of("prompt", "a cat", "height", "32", "width", "48", "frames", "4", "steps", "3");

            gate.holdNext();
            String running = api.submit(image, small).json().path("id").asText();
            assertEquals(running, gate.awaitHeld());
            String queued = api.submit(image, small).json().path("id").asText();

            Thread closing = Thread.ofPlatform().start(server::close);
            Instant end = Instant.now().plus(Duration.ofMinutes(1));
            ApiClient.Reply refused;
            do {
                refused = api.submit(image, small);
            } while (refused.status() != 503 && Instant.now().isBefore(end));   // until close() has begun
            assertEquals(503, refused.status(), refused.error());
            assertTrue(refused.error().contains("shutting down"), refused.error());
            gate.release();
            closing.join(Duration.ofMinutes(5));

            assertEquals(JobStatus.CANCELLED, server.job(running).orElseThrow().status(), "stopped at its next step");
            assertEquals(JobStatus.CANCELLED, server.job(queued).orElseThrow().status());
            try (Stream<Path> files = Files.list(outputDir)) {
                assertEquals(0, files.count(), "no video, no temporary");
            }
            Exception e = assertThrows(Exception.class, () -> api.get("/healthz"));
            assertTrue(e instanceof ConnectException || e.getCause() instanceof ConnectException, e.toString());
        }
    }
}
