package dev.i2vgen.io.hub;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.MessageText;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The Hub's HTTP routes this library uses, through the JDK's {@link HttpClient}: the revision info (commit and file
 * list), a file's metadata ({@code HEAD} of its resolve URL) and a file's bytes ({@code GET}, from an offset with
 * {@code Range}). The token goes, as a bearer token, only to the Hub's own host; redirects to another host (the CDN of
 * LFS files) are followed without it. Requests other than downloads are retried by the {@link RetryPolicy}.
 */
final class HubClient implements AutoCloseable {
    private static final int MAX_REDIRECTS = 10;
    private static final String USER_AGENT = "i2vgen-java/0.1.0; java/" + Runtime.version().feature();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HubSettings settings;
    private final RetryPolicy retries;
    private final HttpClient http;

    HubClient(HubSettings settings, RetryPolicy retries) {
        this.settings = settings;
        this.retries = retries;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(settings.timeout())
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    HubSettings settings() { return settings; }

    /**
     * {@code GET /api/models/{repo}/revision/{revision}}: the commit and the files ({@code siblings[].rfilename});
     * redirects within the Hub (a renamed repository) are followed.
     */
    RepoRevision revision(RepoId repo, String revision, DownloadListener listener) {
        URI uri = URI.create(settings.endpoint() + "/api/models/" + repo.id() + "/revision/" + encode(revision, false));
        return withRetries("the file list of " + repo, listener, () -> {
            URI target = uri;
            for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
                HttpResponse<byte[]> r = send(request(target, true).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
                URI location = r.headers().firstValue("Location").map(target::resolve).orElse(null);
                if (r.statusCode() / 100 == 3 && location != null && sameOrigin(target, location)) {   // a renamed repository
                    target = location;
                    continue;
                }
                if (r.statusCode() != 200) throw HubErrors.of(r, settings, repo, revision, null);
                return parseRevision(repo, r.body());
            }
            throw new HubException(HubException.Reason.SERVER, "the file list of " + repo + ": more than " + MAX_REDIRECTS + " redirects");
        });
    }

    /**
     * {@code HEAD /{repo}/resolve/{commit}/{path}}, following redirects within the Hub (a renamed repository) and
     * stopping at one to another host (the CDN), whose answer carries the metadata as on huggingface.co.
     */
    RemoteFile metadata(RepoId repo, String commit, String path, DownloadListener listener) {
        URI resolve = URI.create(settings.endpoint() + "/" + repo.id() + "/resolve/" + encode(commit, false) + "/" + encode(path, true));
        return withRetries(repo + " file '" + path + "'", listener, () -> {
            URI target = resolve;
            for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
                HttpResponse<Void> r = send(request(target, true).header("Accept-Encoding", "identity")
                        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
                int status = r.statusCode();
                URI location = r.headers().firstValue("Location").map(target::resolve).orElse(null);
                boolean redirect = status / 100 == 3 && location != null;
                if (redirect && sameOrigin(target, location) && isRelative(r)) {
                    target = location;
                    continue;
                }
                if (!redirect && status != 200) throw HubErrors.of(r, settings, repo, commit, path);
                return remoteFile(repo, commit, path, r, redirect ? location : target);
            }
            throw new HubException(HubException.Reason.SERVER, repo + " file '" + path + "': more than " + MAX_REDIRECTS + " redirects");
        });
    }

    /**
     * {@code GET} of a file's bytes from {@code offset} ({@code Range: bytes=offset-} when above 0), following
     * redirects (the token is dropped on leaving its host). Answers 200, 206, or 416 (the range is past the end: the
     * partial file is not the server's file); the caller reads and closes the body.
     */
    HttpResponse<InputStream> openBytes(RepoId repo, RemoteFile file, long offset) throws IOException {
        URI target = file.location();
        boolean token = file.sendToken();
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = request(target, token).header("Accept-Encoding", "identity").GET();
            if (offset > 0) b.header("Range", "bytes=" + offset + "-");
            HttpResponse<InputStream> r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            int status = r.statusCode();
            if (status == 200 || status == 206 || (status == 416 && offset > 0)) return r;
            r.body().close();
            URI location = r.headers().firstValue("Location").map(target::resolve).orElse(null);
            if (status / 100 == 3 && location != null) {
                token = token && sameOrigin(target, location);
                target = location;
                continue;
            }
            throw HubErrors.of(r, settings, repo, "the resolved commit", file.path());
        }
        throw new HubException(HubException.Reason.SERVER, repo + " file '" + file.path() + "': more than " + MAX_REDIRECTS + " redirects");
    }

    /** Where the token may go: the Hub's own scheme, host and port. */
    boolean isHub(URI uri) { return sameOrigin(settings.endpoint(), uri); }

    @Override
    public void close() { http.close(); }

    private HttpRequest.Builder request(URI uri, boolean withToken) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(settings.timeout()).header("User-Agent", USER_AGENT);
        if (withToken && settings.hasToken() && isHub(uri)) b.header("Authorization", "Bearer " + settings.token());
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> body) throws IOException {
        try {
            return http.send(request, body);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for " + request.uri());
        }
    }

    private RemoteFile remoteFile(RepoId repo, String commit, String path, HttpResponse<Void> r, URI location) {
        String etag = r.headers().firstValue("X-Linked-Etag").or(() -> r.headers().firstValue("ETag")).map(HubClient::normalizeEtag).orElse(null);
        if (r.headers().firstValue("X-Repo-Commit").isEmpty()) {
            throw notTheHub(repo + " file '" + path + "': the answer has no X-Repo-Commit header");
        }
        if (etag == null || etag.isEmpty()) throw notTheHub(repo + " file '" + path + "': the answer has no ETag");
        boolean redirect = r.statusCode() / 100 == 3;
        OptionalLong size = longHeader(r, "X-Linked-Size");
        if (size.isEmpty() && !redirect) size = longHeader(r, "Content-Length");
        if (size.isEmpty()) throw notTheHub(repo + " file '" + path + "': the answer gives no size (X-Linked-Size or Content-Length)");
        return new RemoteFile(path, location, isHub(location), etag, size.getAsLong());
    }

    private HubException notTheHub(String what) {
        return new HubException(HubException.Reason.SERVER, what + "; is HF_ENDPOINT (" + settings.endpoint()
                + ") a Hugging Face Hub, and no proxy in the way?");
    }

    private RepoRevision parseRevision(RepoId repo, byte[] body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JacksonException e) {
            throw notTheHub("the revision info of " + repo + " is not JSON (" + MessageText.reason(e) + ")");
        } catch (IOException e) {
            throw notTheHub("the revision info of " + repo + " cannot be read (" + MessageText.reason(e) + ")");
        }
        String commit = root == null ? null : root.path("sha").asText(null);
        if (commit == null || !HubCache.COMMIT.matcher(commit).matches()) {
            throw notTheHub("the revision info of " + repo + " has no commit hash ('sha')");
        }
        List<String> files = new ArrayList<>();
        for (JsonNode s : root.path("siblings")) {
            String f = s.path("rfilename").asText(null);
            if (f != null && !f.isEmpty()) files.add(f);
        }
        return new RepoRevision(commit, List.copyOf(files));
    }

    /** The answer to a request that may be retried: connection problems, timeouts and 408/429/5xx, with backoff. */
    private interface Request<T> {
        T send() throws IOException;
    }

    private <T> T withRetries(String what, DownloadListener listener, Request<T> request) {
        for (int retry = 1; ; retry++) {
            String reason;
            Throwable failure;
            try {
                return request.send();
            } catch (java.io.InterruptedIOException e) {
                throw new HubException(HubException.Reason.NETWORK, "interrupted while fetching " + what, e);
            } catch (IOException e) {
                reason = describe(e);
                failure = e;
            } catch (HubException e) {
                if (!e.retryable()) throw e;
                reason = e.getMessage();
                failure = e;
            }
            if (retry > retries.maxRetries()) {
                if (failure instanceof HubException h) {
                    throw new HubException(h.reason(), h.getMessage() + ", after " + retries.maxRetries() + " retries", h);
                }
                throw new HubException(HubException.Reason.NETWORK, "cannot reach " + settings.endpoint() + " for " + what + " (" + reason
                        + ") after " + retries.maxRetries() + " retries: check the network, a proxy, or HF_ENDPOINT; HF_HUB_OFFLINE=1 uses"
                        + " only the cache", failure);
            }
            Duration wait = retries.waitBefore(retry);
            listener.retrying(what, retry, retries.maxRetries(), reason, wait);
            sleep(wait, what);
        }
    }

    static void sleep(Duration wait, String what) {
        try {
            Thread.sleep(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException(HubException.Reason.NETWORK, "interrupted while waiting to retry " + what, e);
        }
    }

    /** A network failure in words: the JDK's exceptions often have no message of their own. */
    static String describe(IOException e) {
        String kind = switch (e) {
            case java.net.ConnectException _ -> "connection refused or unreachable";
            case java.net.http.HttpConnectTimeoutException _ -> "connecting timed out";
            case java.net.http.HttpTimeoutException _ -> "no answer in time";
            case java.net.UnknownHostException _ -> "unknown host";
            default -> null;
        };
        String message = e.getMessage() == null || e.getMessage().isBlank() ? null : MessageText.oneLine(e.getMessage());
        if (kind == null) return message != null ? message : e.getClass().getSimpleName();
        return message == null ? kind : kind + ": " + message;
    }

    private static boolean isRelative(HttpResponse<?> r) {
        String location = r.headers().firstValue("Location").orElse("");
        return location.startsWith("/") && !location.startsWith("//");
    }

    private static boolean sameOrigin(URI a, URI b) {
        return Objects.equals(a.getScheme(), b.getScheme()) && Objects.equals(a.getHost(), b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : "https".equals(u.getScheme()) ? 443 : 80;
    }

    private static OptionalLong longHeader(HttpResponse<?> r, String name) {
        var v = r.headers().firstValue(name);
        if (v.isEmpty()) return OptionalLong.empty();
        try {
            long n = Long.parseLong(v.get().trim());
            return n >= 0 ? OptionalLong.of(n) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** huggingface_hub's {@code _normalize_etag}: {@code W/"x"} and {@code "x"} become {@code x}. */
    static String normalizeEtag(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) e = e.substring(2);
        while (e.startsWith("\"")) e = e.substring(1);
        while (e.endsWith("\"")) e = e.substring(0, e.length() - 1);
        return e;
    }

    /** Percent-encodes as Python's {@code urllib.parse.quote} ({@code safe="/"} for paths, {@code safe=""} for a revision). */
    static String encode(String text, boolean keepSlash) {
        StringBuilder out = new StringBuilder();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            boolean unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~' || (keepSlash && c == '/');
            if (unreserved) out.append((char) c);
            else out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16))).append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
        }
        return out.toString();
    }
}
