package dev.i2vgen.io.hub;

import dev.i2vgen.io.checkpoint.Variant;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Turns a model name into a checkpoint folder, the way diffusers' {@code from_pretrained} takes one: an existing path
 * is a local checkpoint folder; {@code org/name} is a Hugging Face Hub repository, read from the huggingface_hub cache
 * and downloaded into it when missing ({@link HubCheckpoint}); anything else is an error saying which.
 * <pre>{@code
 * try (ModelSource models = ModelSource.fromEnvironment()) {
 *     Path dir = models.resolve("ali-vilab/i2vgen-xl", null, Variant.FP16, DownloadListener.NONE);
 *     ... VideoPipelines.fromPretrained(dir, backend, DType.F16) ...
 * }}</pre>
 * Holds an HTTP client (made on first Hub use); close it when done.
 */
public final class ModelSource implements AutoCloseable {
    public static final String DEFAULT_REVISION = "main";

    private final HubSettings settings;
    private final RetryPolicy retries;
    private HubClient client;

    private ModelSource(HubSettings settings, RetryPolicy retries) {
        this.settings = settings;
        this.retries = retries;
    }

    /** With {@link HubSettings#fromEnvironment()} and huggingface_hub's retries. */
    public static ModelSource fromEnvironment() { return of(HubSettings.fromEnvironment(), RetryPolicy.defaults()); }

    public static ModelSource of(HubSettings settings, RetryPolicy retries) {
        if (settings == null || retries == null) throw new IllegalArgumentException("settings and retries must not be null");
        return new ModelSource(settings, retries);
    }

    public HubSettings settings() { return settings; }

    /**
     * What {@code model} names: an existing path (a folder, or a file the loader will refuse), else a repository id
     * {@code org/name} at {@code revision} (null: {@value #DEFAULT_REVISION}). Nothing is downloaded yet. Throws a
     * {@link HubException} ({@link HubException.Reason#INVALID_NAME}) for a name that is neither, or for a revision
     * given with a local folder.
     */
    public ModelReference locate(String model, String revision) {
        if (model == null || model.isBlank()) {
            throw new HubException(HubException.Reason.INVALID_NAME, "a model is required: a checkpoint folder or a Hub repository id (org/name)");
        }
        Path path = pathOrNull(model);
        if (path != null && Files.exists(path)) {
            if (revision != null) {
                throw new HubException(HubException.Reason.INVALID_NAME, "a revision (" + revision + ") applies to a Hub repository id,"
                        + " but '" + model + "' is a local path");
            }
            return new LocalCheckpoint(path);
        }
        RepoId repo;
        try {
            repo = RepoId.parse(model);
        } catch (IllegalArgumentException e) {
            throw new HubException(HubException.Reason.INVALID_NAME, "'" + model + "' is neither an existing folder nor a Hub repository id: "
                    + e.getMessage(), e);
        }
        return new HubCheckpoint(repo, revision == null ? DEFAULT_REVISION : revision, model, settings, settings.offline() ? null : client(), retries);
    }

    /** {@code locate(model, revision).checkpoint(variant, listener)}: the folder to load, downloaded first if needed. */
    public Path resolve(String model, String revision, Variant variant, DownloadListener listener) {
        return locate(model, revision).checkpoint(variant, listener);
    }

    @Override
    public synchronized void close() {
        if (client != null) client.close();
        client = null;
    }

    private synchronized HubClient client() {
        if (client == null) client = new HubClient(settings, retries);
        return client;
    }

    private static Path pathOrNull(String model) {
        try {
            return Path.of(model);
        } catch (InvalidPathException e) {
            return null;
        }
    }
}
