package dev.i2vgen.io.hub;

import dev.i2vgen.io.checkpoint.Variant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Downloads that go wrong: cut and stalled connections (resumed), bad bytes (refused), server errors, no network, two processes. */
class HubFaultsTest {
    private static final String UNET = "unet/diffusion_pytorch_model.safetensors";

    @TempDir
    Path home;

    private FakeHub hub;
    private final List<String> retries = new CopyOnWriteArrayList<>();
    private final List<String> notices = new CopyOnWriteArrayList<>();
    private final DownloadListener listener = new DownloadListener() {
        @Override public void retrying(String what, int retry, int maxRetries, String reason, Duration wait) { retries.add(what + ": " + reason); }

        @Override public void notice(String message) { notices.add(message); }
    };

    @BeforeEach
    void startHub() { hub = FakeHub.start(); }

    @AfterEach
    void stopHub() { hub.close(); }

    private Path resolve(HubSettings settings, RetryPolicy policy) {
        try (ModelSource source = ModelSource.of(settings, policy)) {
            return source.resolve("org/tiny", null, Variant.NONE, listener);
        }
    }

    private Path resolve() { return resolve(HubFixtures.settings(hub, home), HubFixtures.FAST_RETRIES); }

    private Path repoDir() { return home.resolve("hub-cache/models--org--tiny"); }

    private static long rangeStart(FakeHub.Request r) {
        assertTrue(r.range() != null && r.range().matches("bytes=\\d+-"), "a resume request: " + r);
        return Long.parseLong(r.range().substring("bytes=".length(), r.range().length() - 1));
    }

    private Path blobOf(FakeHub.Repo repo, String path) { return repoDir().resolve("blobs").resolve(FakeHub.blobName(path, repo.bytes(path))); }

    @Test
    void aConnectionCutMidFileIsResumedWithRange() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        int size = repo.bytes(UNET).length;
        hub.cutConnection("org/tiny", UNET, size / 3, 1);
        Path snapshot = resolve();
        String cdnPath = "/cdn/" + FakeHub.sha256(repo.bytes(UNET));
        List<FakeHub.Request> gets = hub.requests(r -> r.path().equals(cdnPath) && r.method().equals("GET"));
        assertEquals(2, gets.size(), gets.toString());
        assertEquals(null, gets.get(0).range());
        long resumedAt = rangeStart(gets.get(1));   // what reached the client of the size / 3 bytes sent before the cut
        assertTrue(resumedAt > 0 && resumedAt <= size / 3, "resumed where the data stopped: " + gets.get(1));
        assertArrayEquals(repo.bytes(UNET), Files.readAllBytes(snapshot.resolve(UNET)), "the blob verifies");
        assertEquals(1, retries.size(), retries.toString());
        assertFalse(Files.exists(HubCache.incomplete(blobOf(repo, UNET))));
    }

    @Test
    void aPartialDownloadLeftByAFailedRunIsResumedByTheNext() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        int size = repo.bytes(UNET).length;
        hub.cutConnection("org/tiny", UNET, size / 2, 1);
        HubException e = assertThrows(HubException.class, () -> resolve(HubFixtures.settings(hub, home), new RetryPolicy(0, Duration.ZERO, Duration.ZERO)));
        assertEquals(HubException.Reason.NETWORK, e.reason());
        assertTrue(e.getMessage().contains(UNET) && e.getMessage().contains("next run resumes"), e.getMessage());
        Path partial = HubCache.incomplete(blobOf(repo, UNET));
        long kept = Files.size(partial);
        assertTrue(kept > 0 && kept <= size / 2, "what arrived is kept under .incomplete: " + kept);
        assertFalse(Files.exists(repoDir().resolve("refs/main")), "no ref to an incomplete snapshot");

        hub.clearLog();
        Path snapshot = resolve();
        assertTrue(hub.requests().stream().anyMatch(r -> ("bytes=" + kept + "-").equals(r.range())), hub.requests().toString());
        assertArrayEquals(repo.bytes(UNET), Files.readAllBytes(snapshot.resolve(UNET)));
        assertFalse(Files.exists(partial));
    }

    @Test
    void aStalledDownloadTimesOutAndResumes() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        hub.stall("org/tiny", UNET, 1000, 1, 20_000);
        HubSettings settings = HubFixtures.settings(hub, home).withTimeout(Duration.ofMillis(300));
        long t0 = System.nanoTime();
        Path snapshot = resolve(settings, HubFixtures.FAST_RETRIES);
        assertTrue(System.nanoTime() - t0 < 15_000_000_000L, "the 20 s stall was cut short by the 0.3 s timeout");
        assertTrue(retries.stream().anyMatch(r -> r.contains("no data for")), retries.toString());
        assertTrue(hub.requests().stream().anyMatch(r -> "bytes=1000-".equals(r.range())), hub.requests().toString());
        assertArrayEquals(repo.bytes(UNET), Files.readAllBytes(snapshot.resolve(UNET)));
    }

    @Test
    void aServerIgnoringRangeStartsTheFileOver() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        hub.cutConnection("org/tiny", UNET, 5000, 1);
        hub.ignoreRange("org/tiny", UNET, 2);   // the cut one and the resumed one: the latter answers 200 with the whole file
        Path snapshot = resolve();
        assertArrayEquals(repo.bytes(UNET), Files.readAllBytes(snapshot.resolve(UNET)));
    }

    @Test
    void aWrongChecksumIsRefusedAndLeavesNothingInTheCache() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        hub.corrupt("org/tiny", UNET, 2);
        HubException e = assertThrows(HubException.class, this::resolve);
        assertEquals(HubException.Reason.CORRUPT_DOWNLOAD, e.reason());
        assertTrue(e.getMessage().contains(UNET) && e.getMessage().contains("SHA-256") && e.getMessage().contains("nothing of it is in the cache"),
                e.getMessage());
        Path blob = blobOf(repo, UNET);
        assertFalse(Files.exists(blob));
        assertFalse(Files.exists(HubCache.incomplete(blob)));
        try (Stream<Path> s = Files.walk(repoDir())) {
            assertTrue(s.noneMatch(p -> p.toString().endsWith(UNET)), "no snapshot entry for it");
        }
        assertFalse(Files.exists(repoDir().resolve("refs/main")));
        assertEquals(1, retries.size(), "one fresh download after the first mismatch: " + retries);
    }

    @Test
    void oneCorruptDownloadIsFetchedAgain() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        hub.corrupt("org/tiny", UNET, 1);
        Path snapshot = resolve();
        assertArrayEquals(repo.bytes(UNET), Files.readAllBytes(snapshot.resolve(UNET)));
    }

    @Test
    void serverErrorsAreRetriedWithBackoff() throws Exception {
        hub.repo("org/tiny").files(HubFixtures.tiny());
        hub.failNext("/api/models/org/tiny", 503, 502);
        hub.failNext("/org/tiny/resolve/", 500);
        resolve();
        assertEquals(3, retries.size(), retries.toString());
        assertTrue(retries.getFirst().contains("HTTP 503"), retries.toString());

        hub.failNext("/api/models/org/tiny", 503, 503, 503, 503);
        Files.delete(repoDir().resolve("refs/main"));
        HubException e = assertThrows(HubException.class, this::resolve);
        assertEquals(HubException.Reason.SERVER, e.reason());
        assertTrue(e.getMessage().contains("HTTP 503"), e.getMessage());
    }

    @Test
    void withoutNetworkTheCacheIsUsedIfItHasTheModel() throws Exception {
        hub.repo("org/tiny").files(HubFixtures.tiny());
        HubSettings settings = HubFixtures.settings(hub, home);
        Path warm = resolve(settings, HubFixtures.FAST_RETRIES);
        hub.close();   // nothing listens there any more

        assertEquals(warm, resolve(settings, HubFixtures.FAST_RETRIES));
        assertTrue(notices.stream().anyMatch(n -> n.contains("using the cached snapshot")), notices.toString());

        HubSettings cold = HubFixtures.settings(hub, home.resolve("other"));
        HubException e = assertThrows(HubException.class, () -> resolve(cold, HubFixtures.FAST_RETRIES));
        assertEquals(HubException.Reason.NETWORK, e.reason());
        assertTrue(e.getMessage().contains("cannot reach " + hub.endpoint()) && e.getMessage().contains("after 3 retries"), e.getMessage());
    }

    /** Two downloads of the same model at once (as two processes would): each blob is fetched once, under its lock. */
    @Test
    void concurrentDownloadsOfOneBlobTakeTurnsOnItsLock() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        CountDownLatch bothStarted = new CountDownLatch(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Path>> runs = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                runs.add(pool.submit(() -> {
                    bothStarted.countDown();
                    bothStarted.await(5, TimeUnit.SECONDS);
                    return resolve();
                }));
            }
            Path a = runs.get(0).get(60, TimeUnit.SECONDS), b = runs.get(1).get(60, TimeUnit.SECONDS);
            assertEquals(a, b);
        } finally {
            pool.shutdownNow();
        }
        for (String path : repo.fileMap().keySet()) {
            if (!FakeHub.isLfs(path)) continue;
            String cdn = "/cdn/" + FakeHub.sha256(repo.bytes(path));
            assertEquals(1, hub.requests(r -> r.path().equals(cdn) && r.method().equals("GET")).size(), path + " downloaded once");
        }
    }

    /** The lock is the one huggingface_hub takes: while another holder has it, the download waits, then finds the blob. */
    @Test
    void aBlobLockedByAnotherHolderIsWaitedFor() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tiny());
        Path lockFile = home.resolve("hub-cache/.locks/models--org--tiny").resolve(FakeHub.sha256(repo.bytes(UNET)) + ".lock");
        CountDownLatch waiting = new CountDownLatch(1);
        try (BlobLock held = BlobLock.acquire(lockFile, () -> { })) {
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<Path> run = pool.submit(() -> {
                    try (ModelSource source = ModelSource.of(HubFixtures.settings(hub, home), HubFixtures.FAST_RETRIES)) {
                        return source.resolve("org/tiny", null, Variant.NONE, new DownloadListener() {
                            @Override public void notice(String message) { if (message.contains("waiting for another download")) waiting.countDown(); }
                        });
                    }
                });
                assertTrue(waiting.await(30, TimeUnit.SECONDS), "the download waits for the lock");
                assertFalse(run.isDone());
                held.close();
                assertArrayEquals(repo.bytes(UNET), Files.readAllBytes(run.get(60, TimeUnit.SECONDS).resolve(UNET)));
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
