package dev.i2vgen.io.hub;

import dev.i2vgen.io.checkpoint.Variant;

import java.nio.file.Path;

/**
 * What a {@code --model} string names, from {@link ModelSource#locate}: a checkpoint folder on disk
 * ({@link LocalCheckpoint}) or a repository on the Hugging Face Hub ({@link HubCheckpoint}), whose files come from the
 * cache and are downloaded when missing. Both end as a folder the checkpoint loader reads.
 */
public sealed interface ModelReference permits LocalCheckpoint, HubCheckpoint {
    /** For messages: the folder, or {@code org/name at revision main}. */
    String describe();

    /**
     * {@code model_index.json} alone (it names the pipeline and its components), so that a caller can check its
     * request against the model before the weights are fetched; nothing else is downloaded.
     */
    Path modelIndex(DownloadListener listener);

    /**
     * The checkpoint folder holding every file the pipeline loads for {@code variant}: the folder itself, or the
     * cache snapshot of the repository's commit, with what it lacked downloaded first.
     */
    Path checkpoint(Variant variant, DownloadListener listener);
}
