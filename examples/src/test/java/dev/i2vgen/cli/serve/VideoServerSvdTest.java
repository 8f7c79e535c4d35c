package dev.i2vgen.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.i2vgen.cli.LoadedPipeline;
import dev.i2vgen.cli.ModelCheckpoint;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.DType;
import org.jcodec.api.FrameGrab;
import org.jcodec.common.DemuxerTrackMeta;
import org.jcodec.common.io.NIOUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The API serves Stable Video Diffusion too: its own fields (no prompt), its defaults, a video from the tiny SVD checkpoint. */
class VideoServerSvdTest {
    @Test
    void svdJobsTakeSvdFieldsAndRefuseAPrompt(@TempDir Path outputDir) throws Exception {
        try (ReferenceCase svd = ReferenceCase.bundled("svd-tiny")) {
            ModelCheckpoint checkpoint = ModelCheckpoint.open(svd.checkpoint());
            LoadedPipeline pipeline = checkpoint.load("jvm", DType.F32);
            ServerSettings settings = new ServerSettings("127.0.0.1", 0, null, outputDir, Duration.ofHours(1), 2,
                    new JobLimits(1 << 20, 1 << 20, 32, 50));
            try (VideoServer server = VideoServer.start(settings, checkpoint, pipeline, "F32", JobHooks.NONE)) {
                ApiClient api = new ApiClient(server.url(), null);
                byte[] image = Files.readAllBytes(svd.inputImage());

                JsonNode model = api.get("/v1/models").json().path("data").get(0);
                assertEquals("StableVideoDiffusionPipeline", model.path("pipeline").asText());
                Set<String> fields = new HashSet<>(model.path("fields").findValuesAsText("name"));
                assertTrue(fields.containsAll(Set.of("image", "motion-bucket-id", "noise-aug-strength", "min-guidance", "max-guidance")), fields.toString());
                assertFalse(fields.contains("prompt") || fields.contains("guidance"), fields.toString());

                ApiClient.Reply prompt = api.submit(image, Map.of("prompt", "a cat"));
                assertEquals(400, prompt.status());
                assertTrue(prompt.error().startsWith("--prompt is not an option of StableVideoDiffusionPipeline"), prompt.error());

                ApiClient.Reply r = api.submit(image, Map.of("height", "32", "width", "48", "frames", "3", "steps", "2", "fps", "6",
                        "motion-bucket-id", "60", "seed", "3"));
                assertEquals(202, r.status(), r.error());
                String id = r.json().path("id").asText();
                JsonNode job = api.awaitFinished(id);
                assertEquals("succeeded", job.path("status").asText(), job.toString());
                assertEquals(60, job.path("parameters").path("motion-bucket-id").asInt());
                assertEquals(3.0, job.path("parameters").path("max-guidance").asDouble(), "SVD's default");

                Path mp4 = outputDir.resolve("svd.mp4");
                Files.write(mp4, api.get(job.path("content_url").asText()).response().body());
                try (var channel = NIOUtils.readableChannel(mp4.toFile())) {
                    DemuxerTrackMeta meta = FrameGrab.createFrameGrab(channel).getVideoTrack().getMeta();
                    assertEquals(3, meta.getTotalFrames());
                    assertEquals(3.0 / 6, meta.getTotalDuration(), 1e-6, "3 frames at --fps 6");
                }
            }
        }
    }
}
