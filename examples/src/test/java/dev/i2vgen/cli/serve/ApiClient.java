package dev.i2vgen.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** The tests' HTTP client of one server on 127.0.0.1: multipart submissions, JSON answers, polling. */
final class ApiClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Generous: CI runs on 2 shared cores; the tiny model's jobs take seconds there. */
    static final Duration JOB_TIMEOUT = Duration.ofMinutes(5);

    record Reply(int status, HttpResponse<byte[]> response) {
        JsonNode json() {
            try {
                return JSON.readTree(response.body());
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + new String(response.body(), StandardCharsets.UTF_8), e);
            }
        }

        String error() { return json().path("error").asText(null); }

        String header(String name) { return response.headers().firstValue(name).orElse(null); }
    }

    /** A multipart field: a text value, or a file when {@code fileName} is set. */
    record Part(String name, String fileName, byte[] content) {
        static Part text(String name, String value) { return new Part(name, null, value.getBytes(StandardCharsets.UTF_8)); }

        static Part file(String name, String fileName, byte[] content) { return new Part(name, fileName, content); }
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI base;
    private final String token;

    ApiClient(URI base, String token) {
        this.base = base;
        this.token = token;
    }

    ApiClient withToken(String other) { return new ApiClient(base, other); }

    HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofMinutes(2));
        if (token != null) b.header("Authorization", "Bearer " + token);
        return b;
    }

    Reply send(HttpRequest.Builder request) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Reply(r.statusCode(), r);
    }

    Reply get(String path) throws IOException, InterruptedException { return send(request(path).GET()); }

    Reply delete(String path) throws IOException, InterruptedException { return send(request(path).DELETE()); }

    /** The response as it streams (event streams). */
    HttpResponse<InputStream> stream(String path, String accept) throws IOException, InterruptedException {
        return http.send(request(path).header("Accept", accept).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    Reply post(List<Part> parts) throws IOException, InterruptedException { return post(parts, false); }

    /** A multipart POST to /v1/videos; {@code chunked}: without a Content-Length, as a streaming client sends it. */
    Reply post(List<Part> parts, boolean chunked) throws IOException, InterruptedException {
        String boundary = "----i2vgen-test-" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Part p : parts) {
            body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name() + "\""
                    + (p.fileName() != null ? "; filename=\"" + p.fileName() + "\"\r\nContent-Type: application/octet-stream" : "")
                    + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            body.writeBytes(p.content());
            body.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        body.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        byte[] bytes = body.toByteArray();
        return send(request("/v1/videos").header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(chunked ? HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(bytes))
                        : HttpRequest.BodyPublishers.ofByteArray(bytes)));
    }

    /** A submission of {@code image} with these text fields. */
    Reply submit(byte[] image, Map<String, String> fields) throws IOException, InterruptedException {
        List<Part> parts = new java.util.ArrayList<>();
        if (image != null) parts.add(Part.file("image", "input.png", image));
        fields.forEach((k, v) -> parts.add(Part.text(k, v)));
        return post(parts);
    }

    /** Polls the job until it is finished; returns its last description. */
    JsonNode awaitFinished(String id) throws IOException, InterruptedException {
        Instant end = Instant.now().plus(JOB_TIMEOUT);
        while (Instant.now().isBefore(end)) {
            JsonNode job = get("/v1/videos/" + id).json();
            String status = job.path("status").asText();
            if (status.equals("succeeded") || status.equals("failed") || status.equals("cancelled")) return job;
            Thread.sleep(100);
        }
        throw new AssertionError("job " + id + " did not finish within " + JOB_TIMEOUT);
    }
}
