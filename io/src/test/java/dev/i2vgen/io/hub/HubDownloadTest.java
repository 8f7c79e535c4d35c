package dev.i2vgen.io.hub;

import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.io.checkpoint.Variant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A repository fetched into huggingface_hub's cache layout: what is downloaded, how it is laid out, and reuse of the cache. */
class HubDownloadTest {
    @TempDir
    Path home;

    private FakeHub hub;

    @BeforeEach
    void startHub() { hub = FakeHub.start(); }

    @AfterEach
    void stopHub() { hub.close(); }

    private Path resolve(String model, String revision, Variant variant, boolean offline) {
        try (ModelSource source = ModelSource.of(HubFixtures.settings(hub, home).withOffline(offline), HubFixtures.FAST_RETRIES)) {
            return source.resolve(model, revision, variant, DownloadListener.NONE);
        }
    }

    private Path cache() { return home.resolve("hub-cache"); }

    @Test
    void aRepositoryIsDownloadedInHuggingfaceHubsLayout() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        Path snapshot = resolve("org/tiny", null, Variant.NONE, false);

        Path repoDir = cache().resolve("models--org--tiny");
        assertEquals(repoDir.resolve("snapshots").resolve(repo.commit()), snapshot);
        assertEquals(repo.commit(), Files.readString(repoDir.resolve("refs/main")));
        for (String path : repo.fileMap().keySet()) {
            Path pointer = snapshot.resolve(path);
            assertTrue(Files.isSymbolicLink(pointer), path + " is a link");
            String blob = FakeHub.blobName(path, repo.bytes(path));
            String depth = "../".repeat(path.split("/").length + 1);   // snapshots/<commit>/<folders...>
            assertEquals(Path.of(depth + "blobs/" + blob), Files.readSymbolicLink(pointer), path);
            assertArrayEquals(repo.bytes(path), Files.readAllBytes(pointer), path);
            assertTrue(Files.exists(cache().resolve(".locks/models--org--tiny").resolve(blob + ".lock")), "the lock of " + path);
        }
        try (Stream<Path> blobs = Files.list(repoDir.resolve("blobs"))) {
            assertTrue(blobs.noneMatch(p -> p.toString().endsWith(".incomplete")));
        }
        CheckpointFolder.open(snapshot).validate();   // the loader takes the snapshot as a checkpoint folder
    }

    @Test
    void onlyTheFilesOfTheRequestedPrecisionAreDownloaded() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tinyBothPrecisions())
                .file("unet/diffusion_pytorch_model.bin", "pickle".getBytes(StandardCharsets.UTF_8))
                .file("README.md", "# tiny".getBytes(StandardCharsets.UTF_8));
        Path fp16 = resolve("org/tiny", null, Variant.FP16, false);
        Set<String> expected = repo.fileMap().keySet().stream()
                .filter(p -> !p.endsWith(".bin") && !p.equals("README.md"))
                .filter(p -> !p.endsWith(".safetensors") || p.endsWith(".fp16.safetensors")).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(expected, files(fp16));
        assertEquals(Set.copyOf(hub.requests(r -> r.server().equals("cdn")).stream().map(FakeHub.Request::path).toList()),
                expected.stream().filter(FakeHub::isLfs).map(p -> "/cdn/" + FakeHub.sha256(repo.bytes(p))).collect(Collectors.toSet()),
                "the CDN served exactly the fp16 weights");

        Path fp32 = resolve("org/tiny", null, Variant.NONE, false);   // the same snapshot, now with the plain weights too
        assertEquals(fp16, fp32);
        assertTrue(Files.exists(fp32.resolve("unet/diffusion_pytorch_model.safetensors")));
        assertFalse(Files.exists(fp32.resolve("unet/diffusion_pytorch_model.bin")));
    }

    @Test
    void aSecondRunOnlineAsksForTheRevisionAndDownloadsNothing() {
        hub.repo("org/tiny").files(HubFixtures.tiny());
        Path first = resolve("org/tiny", null, Variant.NONE, false);
        hub.clearLog();
        assertEquals(first, resolve("org/tiny", null, Variant.NONE, false));
        assertEquals(1, hub.requests().size(), "only the revision info: " + hub.requests());
        assertTrue(hub.requests().getFirst().path().startsWith("/api/models/org/tiny/revision/main"));
    }

    @Test
    void offlineTheCacheAloneIsUsedByBranchOrCommit() {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        Path online = resolve("org/tiny", null, Variant.NONE, false);
        hub.clearLog();
        assertEquals(online, resolve("org/tiny", null, Variant.NONE, true));
        assertEquals(online, resolve("org/tiny", "main", Variant.FP16, true), "no fp16 files: the plain ones, as the loader falls back");
        assertEquals(online, resolve("org/tiny", repo.commit(), Variant.NONE, true));
        assertEquals(0, hub.requests().size(), "offline means no request: " + hub.requests());
    }

    @Test
    void offlineWithoutTheModelInTheCacheSaysSo() {
        hub.repo("org/tiny").files(HubFixtures.tiny());
        HubException e = assertThrows(HubException.class, () -> resolve("org/tiny", null, Variant.NONE, true));
        assertEquals(HubException.Reason.NOT_CACHED, e.reason());
        assertTrue(e.getMessage().contains("org/tiny at revision main is not in the Hugging Face cache " + cache())
                && e.getMessage().contains("HF_HUB_OFFLINE"), e.getMessage());
        assertEquals(0, hub.requests().size());

        HubException branch = assertThrows(HubException.class, () -> resolve("org/tiny", "v2", Variant.NONE, true));
        assertTrue(branch.getMessage().contains("revision v2"), branch.getMessage());
    }

    @Test
    void offlineAPartlyCachedSnapshotIsNamedWithWhatItLacks() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        Path snapshot = resolve("org/tiny", null, Variant.NONE, false);
        Files.delete(snapshot.resolve("unet/diffusion_pytorch_model.safetensors"));
        HubException e = assertThrows(HubException.class, () -> resolve("org/tiny", null, Variant.NONE, true));
        assertEquals(HubException.Reason.NOT_CACHED, e.reason());
        assertTrue(e.getMessage().contains("only partly in the cache") && e.getMessage().contains("unet"), e.getMessage());

        assertEquals(snapshot, resolve("org/tiny", null, Variant.NONE, false), "online, the missing file is fetched again");
        assertArrayEquals(repo.bytes("unet/diffusion_pytorch_model.safetensors"), Files.readAllBytes(snapshot.resolve("unet/diffusion_pytorch_model.safetensors")));
    }

    /** A cache as huggingface_hub writes it (blobs, relative links, refs/main), made here as Python would: used as is. */
    @Test
    void aCacheWrittenByHuggingfaceHubIsUsedAsIs() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        Path repoDir = cache().resolve("models--org--tiny");
        Path snapshot = repoDir.resolve("snapshots").resolve(repo.commit());
        for (Map.Entry<String, byte[]> f : repo.fileMap().entrySet()) {
            Path blob = Files.createDirectories(repoDir.resolve("blobs")).resolve(FakeHub.blobName(f.getKey(), f.getValue()));
            Files.write(blob, f.getValue());
            Path pointer = snapshot.resolve(f.getKey());
            Files.createDirectories(pointer.getParent());
            Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
        }
        Files.createDirectories(repoDir.resolve("refs"));
        Files.writeString(repoDir.resolve("refs/main"), repo.commit());

        assertEquals(snapshot, resolve("org/tiny", null, Variant.NONE, true));
        assertEquals(snapshot, resolve("org/tiny", null, Variant.NONE, false));
        assertEquals(1, hub.requests().size(), "online: only the revision info, every file is cached: " + hub.requests());
    }

    @Test
    void aNewCommitOnMainReusesTheBlobsOfTheOldOne() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        Path old = resolve("org/tiny", null, Variant.NONE, false);
        repo.newCommit().file("scheduler/scheduler_config.json", "{\"_class_name\": \"DDIMScheduler\", \"num_train_timesteps\": 1000}".getBytes(StandardCharsets.UTF_8));
        hub.clearLog();
        Path now = resolve("org/tiny", null, Variant.NONE, false);
        assertEquals(repo.commit(), now.getFileName().toString());
        assertEquals(repo.commit(), Files.readString(cache().resolve("models--org--tiny/refs/main")));
        assertTrue(Files.isDirectory(old), "the old snapshot stays");
        assertEquals(0, hub.requests(r -> r.server().equals("cdn")).size(), "the weights are the old blobs");
        assertEquals(1, hub.requests(r -> r.method().equals("GET") && r.path().contains("/resolve/")).size(), "only the changed config is fetched");
    }

    @Test
    void aShardedComponentBringsItsIndexAndShards() throws Exception {
        Map<String, byte[]> files = new java.util.TreeMap<>(HubFixtures.tiny());
        byte[] vae = files.remove("vae/diffusion_pytorch_model.safetensors");
        files.put("vae/diffusion_pytorch_model-00001-of-00001.safetensors", vae);
        Set<String> names;
        Path plain = Files.write(home.resolve("vae.safetensors"), vae);
        try (var f = dev.i2vgen.io.safetensors.SafetensorsFile.open(plain)) { names = f.names(); }
        String weightMap = names.stream().map(n -> "\"" + n + "\": \"diffusion_pytorch_model-00001-of-00001.safetensors\"").collect(Collectors.joining(", "));
        files.put("vae/diffusion_pytorch_model.safetensors.index.json", ("{\"metadata\": {}, \"weight_map\": {" + weightMap + "}}").getBytes(StandardCharsets.UTF_8));
        hub.repo("org/sharded").files(files);
        Path snapshot = resolve("org/sharded", null, Variant.NONE, false);
        assertTrue(Files.exists(snapshot.resolve("vae/diffusion_pytorch_model-00001-of-00001.safetensors")));
        assertTrue(Files.exists(snapshot.resolve("vae/diffusion_pytorch_model.safetensors.index.json")));
        CheckpointFolder.open(snapshot).validate();
        assertEquals(snapshot, resolve("org/sharded", null, Variant.NONE, true), "offline, the shards count as needed and are there");
    }

    @Test
    void aRepositoryWithoutModelIndexOrOfAnotherPipelineIsRefusedBeforeTheWeights() {
        hub.repo("org/not-diffusers").file("config.json", "{}".getBytes(StandardCharsets.UTF_8));
        HubException e = assertThrows(HubException.class, () -> resolve("org/not-diffusers", null, Variant.NONE, false));
        assertEquals(HubException.Reason.FILE_NOT_FOUND, e.reason());
        assertTrue(e.getMessage().contains("has no model_index.json"), e.getMessage());

        Map<String, byte[]> files = new java.util.TreeMap<>(HubFixtures.tiny());
        files.put("model_index.json", "{\"_class_name\": \"StableDiffusionPipeline\", \"unet\": [\"diffusers\", \"UNet2DConditionModel\"]}".getBytes(StandardCharsets.UTF_8));
        hub.repo("org/sd").files(files);
        var refused = assertThrows(dev.i2vgen.io.checkpoint.CheckpointException.class, () -> resolve("org/sd", null, Variant.NONE, false));
        assertTrue(refused.getMessage().contains("StableDiffusionPipeline"), refused.getMessage());
        assertEquals(0, hub.requests(r -> r.server().equals("cdn")).size(), "no weights were fetched");
    }

    private static Set<String> files(Path snapshot) throws Exception {
        try (Stream<Path> s = Files.walk(snapshot)) {
            return s.filter(Files::isRegularFile).map(p -> snapshot.relativize(p).toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
