package dev.i2vgen.io.hub;

import dev.i2vgen.io.MessageText;

import java.net.http.HttpResponse;

/**
 * Turns an error answer of the Hub into a {@link HubException} that says what to do, reading the headers
 * huggingface_hub reads ({@code utils/_http.py: hf_raise_for_status}): {@code X-Error-Code} (RepoNotFound,
 * RevisionNotFound, EntryNotFound, GatedRepo) and {@code X-Error-Message}. As there, a 401 is taken for "repository
 * not found" (the Hub answers so for missing, private and gated repositories alike) unless the token was refused.
 */
final class HubErrors {
    private static final String INVALID_CREDENTIALS = "Invalid credentials in Authorization header";

    private HubErrors() {}

    /** The exception for {@code response} to a request about {@code file} of {@code repo} at {@code revision} (file null: the repository itself). */
    static HubException of(HttpResponse<?> response, HubSettings settings, RepoId repo, String revision, String file) {
        int status = response.statusCode();
        String code = response.headers().firstValue("X-Error-Code").orElse("");
        String serverMessage = response.headers().firstValue("X-Error-Message").map(MessageText::oneLine).orElse(null);
        String said = serverMessage == null ? "" : " (the Hub says: " + serverMessage + ")";
        String page = settings.endpoint() + "/" + repo.id();
        String tokens = settings.endpoint() + "/settings/tokens";
        String token = settings.hasToken() ? "the token from " + settings.tokenSource() : null;
        if (code.equals("RevisionNotFound")) {
            return new HubException(HubException.Reason.REVISION_NOT_FOUND, repo + " has no revision '" + revision
                    + "' (a branch, tag or commit hash; HTTP " + status + ")" + said);
        }
        if (code.equals("EntryNotFound")) {
            return new HubException(HubException.Reason.FILE_NOT_FOUND, repo + " at revision " + revision + " has no file '" + file
                    + "' (HTTP " + status + ")" + said);
        }
        if (code.equals("GatedRepo")) {
            return new HubException(HubException.Reason.ACCESS_DENIED, repo + " is a gated model and "
                    + (token == null ? "no token was sent" : token + " has no access to it") + " (HTTP " + status + "): log in on " + page
                    + " and accept its terms, then set HF_TOKEN to an access token of that account (" + tokens + ") or run `hf auth login`" + said);
        }
        if (status == 401 && INVALID_CREDENTIALS.equals(serverMessage)) {
            return new HubException(HubException.Reason.INVALID_TOKEN, "the Hub refused " + token + " as invalid (HTTP 401): set HF_TOKEN to a valid"
                    + " access token from " + tokens + " or run `hf auth login`");
        }
        if (code.equals("RepoNotFound") || status == 401 || (status == 404 && file == null)) {
            return new HubException(HubException.Reason.REPOSITORY_NOT_FOUND, "repository " + repo + " was not found on " + settings.endpoint()
                    + " (HTTP " + status + "): check the name; " + (token == null
                    ? "if it is private or gated, log in: set HF_TOKEN to an access token from " + tokens + " (or run `hf auth login`)"
                    : token + " does not give access to it; if it is private or gated, use a token of an account that may read it")
                    + ", and for a gated model accept its terms on " + page + said);
        }
        if (status == 403) {
            return new HubException(HubException.Reason.ACCESS_DENIED, "access to " + repo + (file == null ? "" : " file '" + file + "'")
                    + " was refused (HTTP 403): " + (token == null ? "log in: set HF_TOKEN to an access token from " + tokens
                    : "make sure " + token + " may read the repository") + "; for a gated model accept its terms on " + page + said);
        }
        if (status == 404) {
            return new HubException(HubException.Reason.FILE_NOT_FOUND, repo + " at revision " + revision + " has no file '" + file
                    + "' (HTTP 404)" + said);
        }
        boolean retryable = RetryPolicy.retryableStatus(status);
        return new HubException(HubException.Reason.SERVER, settings.endpoint() + " answered HTTP " + status + " for " + repo
                + (file == null ? "" : " file '" + file + "'") + said, null, retryable);
    }
}
