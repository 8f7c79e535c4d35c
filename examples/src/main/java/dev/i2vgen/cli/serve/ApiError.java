package dev.i2vgen.cli.serve;

import java.util.Map;

/**
 * A request the API refuses: the HTTP status, the one-line message (for bad parameters, the command line's own message)
 * and any headers that go with it ({@code Retry-After}, {@code WWW-Authenticate}).
 */
final class ApiError extends RuntimeException {
    private final int status;
    private final Map<String, String> headers;

    ApiError(int status, String message) { this(status, message, Map.of()); }

    ApiError(int status, String message, Map<String, String> headers) {
        super(message);
        this.status = status;
        this.headers = Map.copyOf(headers);
    }

    int status() { return status; }

    Map<String, String> headers() { return headers; }
}
