package dev.i2vgen.cli.serve;

import io.javalin.http.Context;
import io.javalin.http.UploadedFile;
import io.javalin.http.sse.SseClient;
import io.javalin.http.sse.SseHandler;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The handlers of the {@code /v1/videos} API; every answer is JSON except a video's content and its event stream. */
final class VideoApi {
    /** Room for the form's text fields and multipart boundaries beside the image, in a request's declared length. */
    static final long FORM_ALLOWANCE = 1 << 20;
    private static final int RECENT = 50;
    private static final long KEEP_ALIVE_MILLIS = 15_000;

    private final JobStore store;
    private final JobSubmission submission;
    private final JobLimits limits;
    private final Map<String, Object> models;

    VideoApi(JobStore store, JobSubmission submission, JobLimits limits, Map<String, Object> models) {
        this.store = store;
        this.submission = submission;
        this.limits = limits;
        this.models = models;
    }

    /** {@code POST /v1/videos}: validated and queued (202), or refused before anything is queued. */
    void submit(Context ctx) throws IOException {
        long declared = ctx.req().getContentLengthLong();
        if (declared > limits.maxUploadBytes() + FORM_ALLOWANCE) throw JobSubmission.tooLarge(declared, limits);
        String type = ctx.contentType() == null ? "" : ctx.contentType().toLowerCase(Locale.ROOT);
        Map<String, List<String>> fields = Map.of();
        JobSubmission.Upload image = null;
        if (type.startsWith("multipart/form-data")) {
            MultipartLimits.Form form = MultipartLimits.read(ctx, limits);
            fields = form.fields();
            image = image(form.files());
        } else if (type.startsWith("application/x-www-form-urlencoded")) {
            fields = ctx.formParamMap();
        } else if (declared > 0 || !type.isEmpty()) {
            throw new ApiError(415, "POST /v1/videos takes multipart/form-data (curl -F image=@photo.png -F prompt=...), got '" + type + "'");
        }
        Job job = submission.create(fields, image);
        try {
            store.submit(job);
        } catch (ApiError e) {
            JobStore.deleteQuietly(job.upload());
            throw e;
        }
        ctx.header("Location", "/v1/videos/" + job.id());
        Json.send(ctx, 202, Map.of("id", job.id(), "status", job.status().apiName()));
    }

    private JobSubmission.Upload image(Map<String, List<UploadedFile>> files) throws IOException {
        for (String name : files.keySet()) {
            if (!name.equals("image")) throw new ApiError(400, "'" + name + "' is not a file field: the only one is 'image'");
        }
        List<UploadedFile> images = files.getOrDefault("image", List.of());
        if (images.size() > 1) throw new ApiError(400, "one 'image' per job, got " + images.size());
        if (images.isEmpty()) return null;
        UploadedFile f = images.getFirst();
        if (f.size() > limits.maxUploadBytes()) throw JobSubmission.tooLarge(f.size(), limits);
        try (InputStream in = f.content()) {
            return new JobSubmission.Upload(f.filename(), in.readNBytes((int) limits.maxUploadBytes() + 1));
        }
    }

    /** {@code GET /v1/videos/{id}}. */
    void get(Context ctx) {
        Job job = find(ctx);
        Json.send(ctx, 200, job.describe(store.queuePosition(job)));
    }

    /** {@code GET /v1/videos}: this server's recent jobs, newest first. */
    void list(Context ctx) {
        List<Map<String, Object>> data = new ArrayList<>();
        for (Job j : store.recent(RECENT)) data.add(j.describe(store.queuePosition(j)));
        Json.send(ctx, 200, Map.of("object", "list", "data", data));
    }

    /**
     * {@code DELETE /v1/videos/{id}}: a queued job is cancelled at once (200), a running one at its next step (202, still
     * running until then); a finished one stays as it is (200).
     */
    void cancel(Context ctx) {
        Job job = find(ctx);
        JobStatus after = store.cancel(job);
        Json.send(ctx, after == JobStatus.RUNNING ? 202 : 200, job.describe(store.queuePosition(job)));
    }

    /** {@code GET /v1/videos/{id}/content[?format=gif]}: the video once it succeeded (409 before), with ranges. */
    void content(Context ctx) throws IOException {
        Job job = find(ctx);
        String format = ctx.queryParam("format") == null ? "mp4" : ctx.queryParam("format").toLowerCase(Locale.ROOT);
        if (!format.equals("mp4") && !format.equals("gif")) throw new ApiError(400, "format must be mp4 or gif, got '" + format + "'");
        JobStatus status = job.status();
        if (status != JobStatus.SUCCEEDED) {
            throw new ApiError(409, "video " + job.id() + " is " + status.apiName() + ": its content exists once it has succeeded");
        }
        Path file = format.equals("gif") ? job.gif() : job.video();
        try {
            long size = Files.size(file);
            ctx.header("Content-Disposition", "inline; filename=\"i2vgen-" + job.id() + "." + format + "\"");
            ctx.writeSeekableStream(Files.newInputStream(file), format.equals("gif") ? "image/gif" : "video/mp4", size);
        } catch (NoSuchFileException e) {
            throw new ApiError(404, "video " + job.id() + " has expired");
        }
    }

    /**
     * {@code GET /v1/videos/{id}/events}: Server-Sent Events, one {@code status} event (the job as {@code GET} shows it)
     * per change, until it is finished; a comment every 15 s keeps the connection open. The request must accept
     * {@code text/event-stream}.
     */
    void events(Context ctx) throws Exception {
        Job job = find(ctx);   // a 404 before the stream starts
        String accept = ctx.header("Accept");
        if (accept == null || !accept.contains("text/event-stream")) {   // Javalin's SSE answers only such requests
            throw new ApiError(406, "an event stream needs the header 'Accept: text/event-stream' (EventSource sends it;"
                    + " curl -N -H 'Accept: text/event-stream' ...)");
        }
        new SseHandler(client -> stream(job, client)).handle(ctx);
    }

    private void stream(Job job, SseClient client) {
        try {
            long seen = -1;
            while (!client.terminated()) {
                long version = job.awaitChange(seen, KEEP_ALIVE_MILLIS);
                if (version == seen) {
                    client.sendComment("keep-alive");
                    continue;
                }
                seen = version;
                client.sendEvent("status", Json.text(job.describe(store.queuePosition(job))));
                if (job.status().finished()) break;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client.close();
        }
    }

    /** {@code GET /v1/models}. */
    void models(Context ctx) { Json.send(ctx, 200, models); }

    private Job find(Context ctx) {
        String id = ctx.pathParam("id");
        return store.get(id).orElseThrow(() -> new ApiError(404, "no video '" + id + "' on this server (finished ones are kept"
                + " for the server's --retention)"));
    }
}
