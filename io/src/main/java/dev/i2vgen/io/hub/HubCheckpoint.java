package dev.i2vgen.io.hub;

import dev.i2vgen.io.checkpoint.CheckpointException;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.io.checkpoint.PipelineFiles;
import dev.i2vgen.io.checkpoint.Variant;
import dev.i2vgen.io.safetensors.SafetensorsFormatException;
import dev.i2vgen.io.safetensors.ShardedSafetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A diffusers pipeline repository on the Hub at a revision, as huggingface_hub's {@code snapshot_download} resolves it:
 * online, the revision info gives the commit and the file list; {@code model_index.json} is fetched first, then the
 * files loading needs ({@link PipelineFiles}: configs, tokenizer, the one weights file per component for the variant,
 * a shard index's shards), each missing one downloaded into the cache ({@link BlobDownload}), and {@code refs/<revision>}
 * is written once the snapshot is complete. Offline ({@code HF_HUB_OFFLINE}), a branch or tag name goes through
 * {@code refs/}, a commit hash straight to its snapshot, and nothing is fetched; when the Hub cannot be asked (no
 * network, the server failing, or the repository refused), a complete cached snapshot of the revision is used instead,
 * as huggingface_hub does. Not for concurrent use by several threads (several processes may share the cache).
 */
public final class HubCheckpoint implements ModelReference {
    private final RepoId repo;
    private final String revision;
    private final String asTyped;
    private final HubSettings settings;
    private final HubCache cache;
    private final HubClient client;
    private final BlobDownload downloads;

    private String commit;
    /** The repository's files at the commit; null while only the cache is used. */
    private List<String> repositoryFiles;
    /** Why only the cache is used (offline, or what asking the Hub gave). */
    private String cacheOnlyBecause;

    HubCheckpoint(RepoId repo, String revision, String asTyped, HubSettings settings, HubClient client, RetryPolicy retries) {
        HubCache.checkRevision(revision);
        this.repo = repo;
        this.revision = revision;
        this.asTyped = asTyped;
        this.settings = settings;
        this.cache = new HubCache(settings.cacheDir());
        this.client = client;
        this.downloads = client == null ? null : new BlobDownload(client, cache, retries);
    }

    /** Refuses a revision that cannot be a branch, tag or commit name (nor a path under {@code refs/}), before any request. */
    public static void checkRevision(String revision) { HubCache.checkRevision(revision); }

    public RepoId repository() { return repo; }

    public String revision() { return revision; }

    @Override
    public String describe() { return repo + " at revision " + revision; }

    @Override
    public Path modelIndex(DownloadListener listener) {
        if (commit == null) locateRevision(listener);
        Path index = cache.pointer(repo, commit, PipelineFiles.MODEL_INDEX);
        if (repositoryFiles == null) {
            if (!Files.isRegularFile(index)) throw notCached("model_index.json is not in its snapshot");
            return index;
        }
        if (!repositoryFiles.contains(PipelineFiles.MODEL_INDEX)) {
            throw new HubException(HubException.Reason.FILE_NOT_FOUND, describe() + " has no model_index.json: it is not a diffusers"
                    + " pipeline repository (it holds " + preview(repositoryFiles) + ")");
        }
        fetch(List.of(PipelineFiles.MODEL_INDEX), listener);
        return index;
    }

    @Override
    public Path checkpoint(Variant variant, DownloadListener listener) {
        Path snapshot = modelIndex(listener).getParent();
        CheckpointFolder checkpoint = CheckpointFolder.open(snapshot);
        Path where = Path.of(repo.id() + "@" + revision);
        if (repositoryFiles == null) {
            try {
                Set<String> cached = cache.snapshotFiles(repo, commit);
                List<String> needed = withShards(PipelineFiles.select(checkpoint, cached, variant, where), snapshot);
                for (String f : needed) if (!cached.contains(f)) throw notCached(f + " is not in its snapshot");
            } catch (CheckpointException | SafetensorsFormatException e) {
                throw notCached("its snapshot lacks what loading needs: " + e.getMessage());
            }
            return snapshot;
        }
        List<String> needed = PipelineFiles.select(checkpoint, repositoryFiles, variant, where);   // refused before any weights
        fetch(needed.stream().filter(PipelineFiles::isShardIndex).toList(), listener);
        needed = withShards(needed, snapshot);
        for (String f : needed) {
            if (!repositoryFiles.contains(f)) {
                throw new HubException(HubException.Reason.FILE_NOT_FOUND, describe() + ": a shard index names '" + f
                        + "', which the repository does not hold");
            }
        }
        fetch(needed, listener);
        cache.writeRef(repo, revision, commit);
        return snapshot;
    }

    /** The commit and file list from the Hub, or from the cache when offline or when the Hub cannot be asked. */
    private void locateRevision(DownloadListener listener) {
        if (settings.offline() || client == null) {
            useCache("HF_HUB_OFFLINE is set", null);
            return;
        }
        try {
            RepoRevision info = client.revision(repo, revision, listener);
            commit = info.commit();
            repositoryFiles = info.files();
        } catch (HubException e) {
            if (e.reason() == HubException.Reason.REVISION_NOT_FOUND) throw e;
            useCache("the Hub could not be asked (" + e.getMessage() + ")", e);
            listener.notice("using the cached snapshot " + commit + " of " + describe() + ": " + cacheOnlyBecause);
        }
    }

    private void useCache(String because, HubException failure) {
        cacheOnlyBecause = because;
        commit = cache.commitOf(repo, revision).filter(c -> Files.isDirectory(cache.snapshot(repo, c))).orElse(null);
        if (commit != null) return;
        if (failure != null) throw failure.reason() == HubException.Reason.REPOSITORY_NOT_FOUND && !asTyped.isEmpty()
                ? new HubException(failure.reason(), failure.getMessage() + "; no local folder '" + asTyped + "' exists either", failure)
                : failure;
        throw new HubException(HubException.Reason.NOT_CACHED, describe() + " is not in the Hugging Face cache " + cache.root()
                + " and " + because + ": unset HF_HUB_OFFLINE (or run once online) to download it");
    }

    private HubException notCached(String what) {
        return new HubException(HubException.Reason.NOT_CACHED, describe() + " (commit " + commit + ") is only partly in the cache "
                + cache.root() + ": " + what + "; " + cacheOnlyBecause + ". Run once online (without HF_HUB_OFFLINE) to complete it");
    }

    /** {@code files} with the shards each shard index among them names (the indexes are in the snapshot). */
    private static List<String> withShards(List<String> files, Path snapshot) {
        Set<String> out = new LinkedHashSet<>(files);
        for (String f : files) {
            if (!PipelineFiles.isShardIndex(f)) continue;
            String folder = f.contains("/") ? f.substring(0, f.lastIndexOf('/') + 1) : "";
            for (String shard : ShardedSafetensors.shardNames(snapshot.resolve(f))) out.add(folder + shard);
        }
        return new ArrayList<>(out);
    }

    /** Puts {@code files} into the snapshot: those it lacks are looked up (HEAD), then downloaded or linked to a blob already cached. */
    private void fetch(List<String> files, DownloadListener listener) {
        List<RemoteFile> missing = new ArrayList<>();
        for (String f : files) {
            if (!Files.exists(cache.pointer(repo, commit, f))) missing.add(client.metadata(repo, commit, f, listener));
        }
        if (missing.isEmpty()) return;
        long total = 0, already = 0;
        List<String> toDownload = new ArrayList<>();
        for (RemoteFile f : missing) {
            Path blob = cache.blob(repo, f.etag());
            if (Files.exists(blob)) continue;
            toDownload.add(f.path());
            total += f.size();
            already += Math.min(f.size(), sizeOf(HubCache.incomplete(blob)));
        }
        if (!toDownload.isEmpty()) listener.downloadStarting(repo.id(), toDownload, total, already);
        for (RemoteFile f : missing) downloads.fetch(repo, commit, f, listener);
        if (!toDownload.isEmpty()) listener.downloadFinished();
    }

    private static long sizeOf(Path p) {
        try {
            return Files.exists(p) ? Files.size(p) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private static String preview(List<String> files) {
        return files.size() <= 8 ? files.toString() : files.subList(0, 8) + " and " + (files.size() - 8) + " more";
    }
}
