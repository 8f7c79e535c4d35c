package dev.i2vgen.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.cli.I2VGenCommand;
import dev.i2vgen.cli.LoadedPipeline;
import dev.i2vgen.cli.ModelCheckpoint;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.MemoryExhaustedException;
import org.jcodec.api.FrameGrab;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.model.Picture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API end to end on the tiny I2VGen-XL checkpoint, JVM backend, one server for the class: submit, poll, the
 * event stream, the MP4 decoded, cancellation, and every refusal (400 with the command line's message, 413, 429, 401).
 */
class VideoServerApiTest {
    private static final String TOKEN = "test-token";
    private static final long MAX_UPLOAD = 256 << 10;

    @TempDir static Path outputDir;
    private static ReferenceCase tiny;
    private static VideoServer server;
    private static final StepGate gate = new StepGate();
    private static ApiClient api;
    private static byte[] image;

    @BeforeAll
    static void startServer() throws Exception {
        tiny = ReferenceCase.bundled("tiny");
        image = Files.readAllBytes(tiny.inputImage());
        ModelCheckpoint checkpoint = ModelCheckpoint.open(tiny.checkpoint());
        LoadedPipeline pipeline = checkpoint.load("jvm", DType.F32);
        ServerSettings settings = new ServerSettings("127.0.0.1", 0, TOKEN, outputDir, Duration.ofHours(1), 1,
                new JobLimits(MAX_UPLOAD, 64 * 64, 8, 10));
        server = VideoServer.start(settings, checkpoint, pipeline, "F32", gate);
        api = new ApiClient(server.url(), TOKEN);
    }

    @AfterAll
    static void stopServer() {
        if (server != null) server.close();
        if (tiny != null) tiny.close();
    }

    /** The small demo sizes: 48×32, 4 frames, 3 steps, a fixed seed. */
    private static Map<String, String> small(String... more) {
        Map<String, String> f = new LinkedHashMap<>(Map.of("prompt", "a red fox", "height", "32", "width", "48", "frames", "4",
                "steps", "3", "seed", "7"));
        for (int i = 0; i < more.length; i += 2) f.put(more[i], more[i + 1]);
        return f;
    }

    private static String submitted(ApiClient.Reply r) {
        assertEquals(202, r.status(), () -> "expected 202, got " + r.status() + ": " + r.error());
        String id = r.json().path("id").asText();
        assertTrue(id.matches("[0-9a-f]{32}"), id);
        assertTrue(List.of("queued", "running").contains(r.json().path("status").asText()), r.json().toString());
        assertEquals("/v1/videos/" + id, r.header("Location"));
        return id;
    }

    @Test
    void aJobRunsAndItsMp4DecodesToTheRequestedFrames() throws Exception {
        String id = submitted(api.submit(image, small()));
        JsonNode job = api.awaitFinished(id);
        assertEquals("succeeded", job.path("status").asText(), job.toString());
        assertEquals(3, job.path("progress").path("step").asInt());
        assertEquals(3, job.path("progress").path("total").asInt());
        JsonNode p = job.path("parameters");
        assertEquals("a red fox", p.path("prompt").asText());
        assertEquals("7", p.path("seed").asText());
        assertEquals(9.0, p.path("guidance").asDouble(), "the model's default filled in");

        ApiClient.Reply mp4 = api.get("/v1/videos/" + id + "/content");
        assertEquals(200, mp4.status());
        assertEquals("video/mp4", mp4.header("Content-Type"));
        Path file = outputDir.resolve("downloaded.mp4");
        Files.write(file, mp4.response().body());
        List<Picture> frames = decode(file);
        assertEquals(4, frames.size());
        assertEquals(48, frames.getFirst().getWidth());
        assertEquals(32, frames.getFirst().getHeight());
        assertEquals(Files.size(outputDir.resolve(id + ".mp4")), mp4.response().body().length, "the file written to --output-dir");

        ApiClient.Reply range = api.send(api.request("/v1/videos/" + id + "/content").header("Range", "bytes=10-").GET());
        assertEquals(206, range.status(), "browsers seek with ranges");
        assertEquals("bytes", range.header("Accept-Ranges"));

        ApiClient.Reply gif = api.get("/v1/videos/" + id + "/content?format=gif");
        assertEquals(200, gif.status());
        assertEquals("image/gif", gif.header("Content-Type"));
        assertEquals(48, ImageIO.read(new ByteArrayInputStream(gif.response().body())).getWidth());

        JsonNode list = api.get("/v1/videos").json();
        assertTrue(list.path("data").findValuesAsText("id").contains(id), "the job is in the recent jobs");
        try (Stream<Path> files = Files.list(outputDir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary left");
        }
    }

    private static List<Picture> decode(Path mp4) throws Exception {
        List<Picture> frames = new ArrayList<>();
        try (var channel = NIOUtils.readableChannel(mp4.toFile())) {
            FrameGrab grab = FrameGrab.createFrameGrab(channel);
            for (Picture p = grab.getNativeFrame(); p != null; p = grab.getNativeFrame()) frames.add(p);
        }
        return frames;
    }

    @Test
    void theEventStreamReportsEveryStepUntilTheJobSucceeds() throws Exception {
        gate.holdNext();
        String id = submitted(api.submit(image, small()));
        List<Integer> steps = new ArrayList<>();
        String last = null;
        HttpResponse<java.io.InputStream> events = api.stream("/v1/videos/" + id + "/events", "text/event-stream");
        assertEquals(200, events.statusCode());
        assertTrue(events.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        try (BufferedReader in = new BufferedReader(new InputStreamReader(events.body(), StandardCharsets.UTF_8))) {
            boolean released = false;
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (!line.startsWith("data:")) continue;
                JsonNode job = new ObjectMapper().readTree(line.substring(5));
                steps.add(job.path("progress").path("step").asInt());
                last = job.path("status").asText();
                if (!released && steps.getLast() == 1) {   // the held job's first step came through: let it go on
                    assertTrue(job.path("eta_seconds").isNumber(), "time left once a step is done: " + job);
                    gate.release();
                    released = true;
                }
            }
        }
        assertEquals("succeeded", last, "the stream ends with the final status");
        assertTrue(steps.contains(1) && steps.getLast() == 3, "progress seen: " + steps);
        for (int i = 1; i < steps.size(); i++) assertTrue(steps.get(i) >= steps.get(i - 1), "progress goes forward: " + steps);

        HttpResponse<java.io.InputStream> plain = api.stream("/v1/videos/" + id + "/events", "*/*");
        assertEquals(406, plain.statusCode(), "an event stream needs Accept: text/event-stream");
        plain.body().close();
    }

    @Test
    void aRunningJobIsCancelledAtItsNextStep() throws Exception {
        gate.holdNext();
        String id = submitted(api.submit(image, small()));
        assertEquals(id, gate.awaitHeld());
        assertEquals(409, api.get("/v1/videos/" + id + "/content").status(), "no content before it succeeded");
        ApiClient.Reply cancel = api.delete("/v1/videos/" + id);
        assertEquals(202, cancel.status(), "still running until its next step");
        gate.release();
        JsonNode job = api.awaitFinished(id);
        assertEquals("cancelled", job.path("status").asText());
        assertEquals(1, job.path("progress").path("step").asInt(), "the second step never ran");
        ApiClient.Reply content = api.get("/v1/videos/" + id + "/content");
        assertEquals(409, content.status());
        assertTrue(content.error().contains("is cancelled"), content.error());
        assertFalse(Files.exists(outputDir.resolve(id + ".mp4")));
    }

    @Test
    void aFullQueueIs429WithRetryAfterAndAQueuedJobCanBeCancelled() throws Exception {
        gate.holdNext();
        String running = submitted(api.submit(image, small()));
        assertEquals(running, gate.awaitHeld());
        String queued = submitted(api.submit(image, small()));
        JsonNode waiting = api.get("/v1/videos/" + queued).json();
        assertEquals("queued", waiting.path("status").asText());
        assertEquals(1, waiting.path("queue_position").asInt());

        ApiClient.Reply full = api.submit(image, small());
        assertEquals(429, full.status(), full.error());
        assertTrue(Long.parseLong(full.header("Retry-After")) >= 1, full.header("Retry-After"));
        assertTrue(full.error().startsWith("the queue is full (1 jobs waiting)"), full.error());

        ApiClient.Reply cancel = api.delete("/v1/videos/" + queued);
        assertEquals(200, cancel.status());
        assertEquals("cancelled", cancel.json().path("status").asText());
        gate.release();
        assertEquals("succeeded", api.awaitFinished(running).path("status").asText());
        assertEquals("cancelled", api.get("/v1/videos/" + queued).json().path("status").asText());
    }

    @Test
    void aJobThatFailsFailsAloneAndTheServerGoesOn() throws Exception {
        gate.failNext(MemoryExhaustedException.device(12L << 30, "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory")
                .allocating("the intermediate buffers of graph 'unet'"));
        String failing = submitted(api.submit(image, small()));
        JsonNode job = api.awaitFinished(failing);
        assertEquals("failed", job.path("status").asText());
        assertTrue(job.path("error").asText().startsWith("out of device memory allocating 12.0 GiB for the intermediate buffers"
                + " of graph 'unet'") && job.path("error").asText().contains("try --decode-chunk 1"), job.path("error").asText());
        assertEquals("succeeded", api.awaitFinished(submitted(api.submit(image, small()))).path("status").asText());
    }

    /** Bad parameters are 400 with exactly the message {@code i2vgen generate} gives for the same option. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "height|100", "steps|0", "guidance|-1", "decode-chunk|zero", "seed|18446744073709551616", "frames|x",
            "motion-bucket-id|30", "scheduler|FooScheduler", "ni-vsds-fraction|0.5"})
    void badParametersGetTheCommandLinesMessage(String field, String value) throws Exception {
        ApiClient.Reply r = api.submit(image, small(field, value));
        assertEquals(400, r.status(), r.error());
        assertEquals(cliError("--" + field, value), r.error());
    }

    /** What {@code i2vgen generate --model tiny ... --option value} prints after "error: ". */
    private static String cliError(String option, String value) {
        StringWriter err = new StringWriter();
        CommandLine cl = I2VGenCommand.commandLine();
        cl.setOut(new PrintWriter(new StringWriter(), true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute("generate", "--model", tiny.checkpoint().toString(), "--image", tiny.inputImage().toString(),
                "--prompt", "a red fox", option, value, "--output", outputDir.resolve("cli.mp4").toString());
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().startsWith("error: "), err.toString());
        return err.toString().strip().substring("error: ".length());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "widht|64|Unknown option: '--widht'; did you mean --width? (GET /v1/models lists the fields)",
            "model|/elsewhere|--model is an option of the server (i2vgen serve --model), not of a job",
            "output|x.mp4|--output is not an option of a job: the server writes the video to its --output-dir; fetch it from GET /v1/videos/{id}/content",
            "dtype|fp16|--dtype is an option of the server (i2vgen serve --dtype), not of a job",
            "i4vgen|maybe|--i4vgen is a flag: true or false, got 'maybe'",
            "height|16|--width and --height must be at least 32 for the MP4 this server writes (the H.264 encoder's minimum), got 48×16",
            "frames|9|--frames must be at most 8 on this server (i2vgen serve --max-frames), got 9",
            "steps|11|--steps must be at most 10 on this server (i2vgen serve --max-steps), got 11",
            "width|136|--height × --width must be at most 4096 pixels on this server (i2vgen serve --max-pixels), got 32 × 136 = 4352"})
    void fieldsAndLimitsOfTheServerAreNamed(String field, String value, String message) throws Exception {
        ApiClient.Reply r = api.submit(image, small(field, value));
        assertEquals(400, r.status(), r.error());
        assertEquals(message, r.error());
    }

    @Test
    void aMissingOrUndecodableImageIs400NamingTheUpload() throws Exception {
        ApiClient.Reply none = api.submit(null, small());
        assertEquals(400, none.status());
        assertTrue(none.error().startsWith("the form field 'image' (the input image file) is required"), none.error());

        List<ApiClient.Part> parts = new ArrayList<>(List.of(ApiClient.Part.file("image", "holiday.png", "not a png".getBytes(StandardCharsets.UTF_8))));
        small().forEach((k, v) -> parts.add(ApiClient.Part.text(k, v)));
        ApiClient.Reply broken = api.post(parts);
        assertEquals(400, broken.status());
        assertTrue(broken.error().startsWith("image 'holiday.png': not an image in a supported format"), broken.error());
    }

    @Test
    void anUploadOverTheLimitIs413() throws Exception {
        for (int size : new int[] {(int) MAX_UPLOAD + 1, (int) MAX_UPLOAD + (2 << 20)}) {   // within the form's allowance, and beyond it
            for (boolean chunked : new boolean[] {false, true}) {   // refused from its Content-Length, or while it is read
                List<ApiClient.Part> parts = new ArrayList<>(List.of(ApiClient.Part.file("image", "big.png", new byte[size])));
                small().forEach((k, v) -> parts.add(ApiClient.Part.text(k, v)));
                ApiClient.Reply r = api.post(parts, chunked);
                assertEquals(413, r.status(), size + " bytes, chunked " + chunked + ": " + r.error());
                assertTrue(r.error().contains("bytes this server takes (i2vgen serve --max-upload)"), r.error());
            }
        }
        assertEquals(202, api.submit(image, small("steps", "1")).status(), "the server takes the next upload");
        api.awaitFinished(api.get("/v1/videos").json().path("data").get(0).path("id").asText());
    }

    @Test
    void theApiNeedsTheTokenThePageDoesNot() throws Exception {
        for (ApiClient client : new ApiClient[] {api.withToken(null), api.withToken("wrong")}) {
            ApiClient.Reply r = client.get("/v1/videos");
            assertEquals(401, r.status());
            assertEquals("Bearer realm=\"i2vgen\"", r.header("WWW-Authenticate"));
            assertTrue(r.error().contains("Authorization: Bearer"), r.error());
            assertEquals(401, client.submit(image, small()).status(), "nothing is queued without the token");
        }
        ApiClient anonymous = api.withToken(null);
        assertEquals(200, anonymous.get("/healthz").status());
        ApiClient.Reply page = anonymous.get("/");
        assertEquals(200, page.status());
        assertTrue(page.header("Content-Type").startsWith("text/html"), page.header("Content-Type"));
        for (String asset : List.of("/app.js", "/style.css")) assertEquals(200, anonymous.get(asset).status(), asset);
    }

    @Test
    void modelsDescribeTheFieldsOfThisModelWithItsDefaults() throws Exception {
        JsonNode model = api.get("/v1/models").json().path("data").get(0);
        assertEquals("I2VGenXLPipeline", model.path("pipeline").asText());
        Map<String, JsonNode> fields = new HashMap<>();
        model.path("fields").forEach(f -> fields.put(f.path("name").asText(), f));
        assertTrue(fields.get("prompt").path("required").asBoolean(), "a real I2VGen-XL checkpoint needs a prompt");
        assertEquals(704, fields.get("height").path("default").asInt(), "diffusers' default for I2VGen-XL");
        assertEquals(50, fields.get("steps").path("default").asInt());
        assertEquals("integer", fields.get("frames").path("type").asText());
        assertNotNull(fields.get("guidance"));
        assertNull(fields.get("motion-bucket-id"), "an SVD option");
        assertNull(fields.get("model"), "a server option");
        assertEquals(8, model.path("limits").path("max_frames").asInt());
    }

    @Test
    void unknownJobsAre404() throws Exception {
        ApiClient.Reply r = api.get("/v1/videos/0123456789abcdef0123456789abcdef");
        assertEquals(404, r.status());
        assertTrue(r.error().startsWith("no video '0123456789abcdef0123456789abcdef'"), r.error());
        assertEquals(404, api.delete("/v1/videos/nope").status());
    }
}
