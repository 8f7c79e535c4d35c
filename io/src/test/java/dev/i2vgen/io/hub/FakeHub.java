package dev.i2vgen.io.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.io.safetensors.SafetensorsWriter;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A Hugging Face Hub on 127.0.0.1 for tests, with the routes and headers huggingface_hub relies on:
 * <ul>
 *   <li>{@code GET /api/models/{org}/{name}/revision/{rev}}: {@code {"id", "sha", "siblings": [{"rfilename"}]}};</li>
 *   <li>{@code HEAD|GET /{org}/{name}/resolve/{rev}/{path}}: {@code X-Repo-Commit}; a file kept in git answers itself
 *       with its git blob id as {@code ETag}; an LFS file ({@code *.safetensors}) answers 302 to the CDN route
 *       {@code /cdn/<sha256>} of a second server (another origin, as cdn-lfs.hf.co is), with {@code X-Linked-Etag}
 *       (its SHA-256) and {@code X-Linked-Size};</li>
 *   <li>{@code GET /cdn/<sha256>}: the bytes, with {@code Range} ({@code 206}, {@code Content-Range});</li>
 *   <li>errors as the Hub sends them: 401/404 with {@code X-Error-Code} RepoNotFound, RevisionNotFound,
 *       EntryNotFound, GatedRepo, and {@code X-Error-Message}.</li>
 * </ul>
 * Faults can be injected per file: a connection cut after some bytes, a stall, corrupted bytes, a server that ignores
 * {@code Range}, and error statuses for the next requests of a route. Every request is logged.
 */
public final class FakeHub implements AutoCloseable {
    /** One request as the server saw it. */
    public record Request(String server, String method, String path, String range, String authorization) {}

    /** A repository: commit, files, access rules. */
    public static final class Repo {
        final String id;
        String commit = HexFormat.of().formatHex(sha("commit of " + System.nanoTime()), 0, 20);
        final Map<String, byte[]> files = new TreeMap<>();
        String token;        // private: only this token may read it
        String gatedToken;   // gated: listing public, files need this token (others: 403)

        Repo(String id) { this.id = id; }

        public String commit() { return commit; }

        public Repo file(String path, byte[] bytes) { files.put(path, bytes); return this; }

        public Repo files(Map<String, byte[]> all) { files.putAll(all); return this; }

        /** The repository's files by path (a copy). */
        public Map<String, byte[]> fileMap() { return new TreeMap<>(files); }

        /** Every file under {@code dir}, as repository paths. */
        public Repo folder(Path dir) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                    file(dir.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        /**
         * Adds the fp16 variant of every plain weights file ({@code model.fp16.safetensors} beside
         * {@code model.safetensors}), its tensors converted to F16, as a repository released in both precisions has.
         */
        public Repo withFp16Variants() {
            for (String path : List.copyOf(files.keySet())) {
                if (!path.endsWith("/model.safetensors") && !path.endsWith("/diffusion_pytorch_model.safetensors")) continue;
                try {
                    Path plain = Files.createTempFile("fake-hub", ".safetensors"), half = Files.createTempFile("fake-hub", ".safetensors");
                    try {
                        Files.write(plain, files.get(path));
                        Map<String, Tensor> tensors = new LinkedHashMap<>();
                        try (SafetensorsFile f = SafetensorsFile.open(plain)) {
                            for (String name : f.names()) tensors.put(name, f.get(name).to(DType.F16));
                            SafetensorsWriter.write(half, tensors, Map.of("format", "pt"));
                        }
                        file(path.replace(".safetensors", ".fp16.safetensors"), Files.readAllBytes(half));
                    } finally {
                        Files.deleteIfExists(plain);
                        Files.deleteIfExists(half);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return this;
        }

        public Repo privateWithToken(String t) { token = t; return this; }

        public Repo gatedFor(String t) { gatedToken = t; return this; }

        /** A new commit (e.g. after a push); {@code main} moves to it. */
        public Repo newCommit() { commit = HexFormat.of().formatHex(sha(commit + "+1"), 0, 20); return this; }

        public byte[] bytes(String path) { return files.get(path); }
    }

    /** What to do to the next GETs of the CDN bytes of one file. */
    private record Fault(String kind, long afterBytes, AtomicInteger times) {}

    private final HttpServer hub;
    private final HttpServer cdn;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-hub");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final Map<String, Fault> faults = new ConcurrentHashMap<>();
    private final Map<String, List<Integer>> statuses = new ConcurrentHashMap<>();
    private final Map<String, String> renamed = new ConcurrentHashMap<>();
    private final List<Request> log = new CopyOnWriteArrayList<>();
    private volatile long stallMillis = 2000;

    private FakeHub() throws IOException {
        InetSocketAddress local = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        hub = HttpServer.create(local, 0);
        cdn = HttpServer.create(local, 0);
        hub.createContext("/", ex -> handle("hub", ex));
        cdn.createContext("/", ex -> handle("cdn", ex));
        hub.setExecutor(threads);
        cdn.setExecutor(threads);
        hub.start();
        cdn.start();
    }

    public static FakeHub start() {
        try {
            return new FakeHub();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The value of HF_ENDPOINT for this Hub. */
    public URI endpoint() { return URI.create("http://127.0.0.1:" + hub.getAddress().getPort()); }

    public Repo repo(String id) { return repos.computeIfAbsent(id, Repo::new); }

    public List<Request> requests() { return List.copyOf(log); }

    public List<Request> requests(Predicate<Request> which) { return log.stream().filter(which).toList(); }

    public void clearLog() { log.clear(); }

    /** The next {@code times} CDN downloads of {@code path} of {@code repo} stop after {@code afterBytes} bytes (the connection is cut). */
    public void cutConnection(String repo, String path, long afterBytes, int times) { fault(repo, path, "cut", afterBytes, times); }

    /** The next {@code times} CDN downloads of the file send {@code afterBytes} bytes, then nothing for a while, then are cut. */
    public void stall(String repo, String path, long afterBytes, int times, long millis) {
        stallMillis = millis;
        fault(repo, path, "stall", afterBytes, times);
    }

    /** The next {@code times} downloads of the file send other bytes than the file's (one byte changed). */
    public void corrupt(String repo, String path, int times) { fault(repo, path, "corrupt", 0, times); }

    /** The next {@code times} downloads of the file ignore {@code Range} and send the whole file with 200. */
    public void ignoreRange(String repo, String path, int times) { fault(repo, path, "norange", 0, times); }

    /** The next requests whose path starts with {@code pathPrefix} answer these statuses, one each. */
    public void failNext(String pathPrefix, Integer... codes) { statuses.put(pathPrefix, new CopyOnWriteArrayList<>(List.of(codes))); }

    /** {@code oldId} was renamed {@code newId}: its routes answer 307 with a relative Location, as the Hub's do. */
    public void rename(String oldId, String newId) { renamed.put(oldId, newId); }

    /** The Git LFS / Xet SHA-256 of a file, the name of its blob in the cache. */
    public static String sha256(byte[] bytes) { return HexFormat.of().formatHex(digest("SHA-256", bytes)); }

    /** The git blob id of a file, the ETag (and blob name) of a file kept in git. */
    public static String gitBlobId(byte[] bytes) {
        byte[] header = ("blob " + bytes.length + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[header.length + bytes.length];
        System.arraycopy(header, 0, all, 0, header.length);
        System.arraycopy(bytes, 0, all, header.length, bytes.length);
        return HexFormat.of().formatHex(digest("SHA-1", all));
    }

    /** The blob name the Hub gives {@code path}: SHA-256 for LFS files, the git blob id otherwise. */
    public static String blobName(String path, byte[] bytes) { return isLfs(path) ? sha256(bytes) : gitBlobId(bytes); }

    public static boolean isLfs(String path) { return path.endsWith(".safetensors") || path.endsWith(".bin"); }

    @Override
    public void close() {
        hub.stop(0);
        cdn.stop(0);
        threads.shutdownNow();
    }

    private void fault(String repo, String path, String kind, long afterBytes, int times) {
        faults.put(sha256(repo(repo).files.get(path)), new Fault(kind, afterBytes, new AtomicInteger(times)));
    }

    private void handle(String server, HttpExchange ex) throws IOException {
        String rawPath = ex.getRequestURI().getRawPath();
        Headers in = ex.getRequestHeaders();
        log.add(new Request(server, ex.getRequestMethod(), rawPath, in.getFirst("Range"), in.getFirst("Authorization")));
        try (ex) {
            Integer injected = nextStatus(rawPath);
            if (injected != null) {
                reply(ex, injected, new byte[0]);
                return;
            }
            for (Map.Entry<String, String> r : renamed.entrySet()) {
                for (String prefix : List.of("/api/models/" + r.getKey() + "/", "/" + r.getKey() + "/resolve/")) {
                    if (server.equals("hub") && rawPath.startsWith(prefix)) {
                        ex.getResponseHeaders().set("Location", prefix.replace(r.getKey(), r.getValue()) + rawPath.substring(prefix.length()));
                        reply(ex, 307, new byte[0]);
                        return;
                    }
                }
            }
            if (server.equals("cdn") && rawPath.startsWith("/cdn/")) {
                serveBlob(ex, rawPath.substring("/cdn/".length()));
            } else if (rawPath.startsWith("/api/models/")) {
                revisionInfo(ex, rawPath.substring("/api/models/".length()));
            } else if (rawPath.contains("/resolve/")) {
                resolve(ex, rawPath);
            } else {
                reply(ex, 404, new byte[0]);
            }
        }
    }

    private Integer nextStatus(String rawPath) {
        for (Map.Entry<String, List<Integer>> e : statuses.entrySet()) {
            if (rawPath.startsWith(e.getKey()) && !e.getValue().isEmpty()) return e.getValue().remove(0);
        }
        return null;
    }

    /** {@code org/name/revision/rev}. */
    private void revisionInfo(HttpExchange ex, String rest) throws IOException {
        String[] parts = rest.split("/", 4);
        if (parts.length < 4 || !parts[2].equals("revision")) {
            reply(ex, 404, new byte[0]);
            return;
        }
        Repo repo = readable(ex, parts[0] + "/" + parts[1], true);
        if (repo == null) return;
        String revision = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
        if (!revision.equals("main") && !revision.equals(repo.commit)) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("id", repo.id);
        info.put("sha", repo.commit);
        List<Map<String, String>> siblings = new ArrayList<>();
        for (String f : repo.files.keySet()) siblings.add(Map.of("rfilename", f));
        info.put("siblings", siblings);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        reply(ex, 200, new ObjectMapper().writeValueAsBytes(info));
    }

    /** {@code /org/name/resolve/rev/path}. */
    private void resolve(HttpExchange ex, String rawPath) throws IOException {
        String[] parts = rawPath.substring(1).split("/", 5);
        if (parts.length < 5 || !parts[2].equals("resolve")) {
            reply(ex, 404, new byte[0]);
            return;
        }
        Repo repo = readable(ex, parts[0] + "/" + parts[1], false);
        if (repo == null) return;
        String revision = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
        String path = URLDecoder.decode(parts[4], StandardCharsets.UTF_8);
        if (!revision.equals("main") && !revision.equals(repo.commit)) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        byte[] bytes = repo.files.get(path);
        Headers out = ex.getResponseHeaders();
        out.set("X-Repo-Commit", repo.commit);
        if (bytes == null) {
            error(ex, 404, "EntryNotFound", "Entry not found");
            return;
        }
        if (isLfs(path)) {
            String sha = sha256(bytes);
            blobs.put(sha, bytes);
            out.set("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/cdn/" + sha);
            out.set("X-Linked-Etag", "\"" + sha + "\"");
            out.set("X-Linked-Size", Long.toString(bytes.length));
            out.set("ETag", "\"" + gitBlobId(("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha).getBytes(StandardCharsets.US_ASCII)) + "\"");
            reply(ex, 302, new byte[0]);
            return;
        }
        out.set("ETag", "\"" + gitBlobId(bytes) + "\"");
        reply(ex, 200, bytes);
    }

    /** The repository if the request may read it; else the Hub's error has been sent and null is returned. */
    private Repo readable(HttpExchange ex, String id, boolean listing) throws IOException {
        Repo repo = repos.get(id);
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (repo != null && repo.token != null && !("Bearer " + repo.token).equals(auth)) {
            if (auth != null && !auth.equals("Bearer " + repo.token) && auth.contains("invalid")) {
                error(ex, 401, null, "Invalid credentials in Authorization header");
                return null;
            }
            repo = null;
        }
        if (repo == null) {
            error(ex, 401, "RepoNotFound", "Repository not found");
            return null;
        }
        if (!listing && repo.gatedToken != null && !("Bearer " + repo.gatedToken).equals(auth)) {
            if (auth == null) error(ex, 401, "GatedRepo", "Access to model " + id + " is restricted. You must have access to it and be authenticated to access it. Please log in.");
            else error(ex, 403, "GatedRepo", "Access to model " + id + " is restricted and you are not in the authorized list. Visit https://huggingface.co/" + id + " to ask for access.");
            return null;
        }
        return repo;
    }

    private void serveBlob(HttpExchange ex, String sha) throws IOException {
        byte[] bytes = blobs.get(sha);
        if (bytes == null) {
            reply(ex, 404, new byte[0]);
            return;
        }
        Fault fault = faults.get(sha);
        boolean faulty = fault != null && ex.getRequestMethod().equals("GET") && fault.times().getAndUpdate(n -> Math.max(0, n - 1)) > 0;
        String kind = faulty ? fault.kind() : "";
        if (kind.equals("corrupt")) {
            bytes = bytes.clone();
            bytes[bytes.length / 2] ^= 1;
        }
        long start = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null && range.startsWith("bytes=") && range.endsWith("-") && !kind.equals("norange")) {
            start = Long.parseLong(range.substring(6, range.length() - 1));
            if (start >= bytes.length) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + bytes.length);
                reply(ex, 416, new byte[0]);
                return;
            }
            ex.getResponseHeaders().set("Content-Range", "bytes " + start + "-" + (bytes.length - 1) + "/" + bytes.length);
        }
        ex.getResponseHeaders().set("ETag", "\"" + sha + "\"");
        int status = start > 0 ? 206 : 200;
        long length = bytes.length - start;
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Long.toString(length));
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, length);
        OutputStream body = ex.getResponseBody();
        if (kind.equals("cut") || kind.equals("stall")) {
            long n = Math.max(0, Math.min(fault.afterBytes() - start, length));
            body.write(bytes, (int) start, (int) n);
            body.flush();
            // a moment for the client to read what was sent: a close with data in flight may reset the connection
            sleep(kind.equals("stall") ? stallMillis : 100);
            throw new IOException("fake hub: connection cut after " + n + " bytes");   // the server then drops the connection
        }
        body.write(bytes, (int) start, (int) length);
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        if (code != null) ex.getResponseHeaders().set("X-Error-Code", code);
        ex.getResponseHeaders().set("X-Error-Message", message);
        reply(ex, status, ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8));
    }

    private static void reply(HttpExchange ex, int status, byte[] body) throws IOException {
        if (ex.getRequestMethod().equals("HEAD")) {
            if (body.length > 0) ex.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) ex.getResponseBody().write(body);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static byte[] sha(String text) { return digest("SHA-256", text.getBytes(StandardCharsets.UTF_8)); }

    private static byte[] digest(String algorithm, byte[] bytes) {
        try {
            return MessageDigest.getInstance(algorithm).digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
