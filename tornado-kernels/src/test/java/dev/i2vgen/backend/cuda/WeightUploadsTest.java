package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.BuildUrgency;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ordering rules of {@link WeightUploads}, on a fake upload stream that logs what the device would be asked (no GPU). */
class WeightUploadsTest {
    /** Logs copies, synchronisations and orderings; a copy to a held pointer waits until released; one pointer may fail. */
    static final class FakeStream implements WeightUploads.UploadStream {
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        final Map<Long, CountDownLatch> holds = new ConcurrentHashMap<>();
        final Map<Long, byte[]> device = new ConcurrentHashMap<>();
        volatile long failing = -1;
        private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);

        @Override public void makeCurrent() { current.set(true); }

        @Override
        public void copy(long pointer, MemorySegment host, long bytes) {
            if (!current.get()) throw new IllegalStateException("copy without the context current");
            CountDownLatch hold = holds.get(pointer);
            try {
                if (hold != null && !hold.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("never released");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            if (pointer == failing) throw new CudaException("cuMemcpyHtoDAsync(" + bytes + " bytes) failed: simulated");
            device.put(pointer, host.asSlice(0, bytes).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            log.add("copy " + pointer + " (" + bytes + " bytes) on " + Thread.currentThread().getName());
        }

        @Override public void synchronize() { log.add("synchronize"); }

        @Override public void orderBefore(MemorySegment consumer) { log.add("order before stream " + consumer.address()); }

        @Override public void close() { log.add("close"); }
    }

    private final FakeStream stream = new FakeStream();
    private static final MemorySegment PLAN_STREAM = MemorySegment.ofAddress(77);

    private static Tensor weights(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = i * 0.5f - 3;
        return Tensor.fromFloats(v, n);
    }

    @Test
    void submitReturnsAtOnceAndAFenceOrdersThePlanAfterEveryCopySubmitted() throws Exception {
        CountDownLatch second = new CountDownLatch(1);
        stream.holds.put(2L, second);
        try (WeightUploads uploads = new WeightUploads(stream, "upload-test", 1)) {
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                for (long p = 1; p <= 3; p++) uploads.submit(weights(8), DType.F32, p);
            }, "the plan's thread never waits for a copy when submitting");
            Thread fence = Thread.ofPlatform().start(() -> uploads.fence(PLAN_STREAM));
            assertFalse(fence.join(Duration.ofMillis(300)), "the fence waits while copy 2 is not enqueued");
            assertFalse(stream.log.stream().anyMatch(s -> s.startsWith("order")));
            second.countDown();
            assertTrue(fence.join(Duration.ofSeconds(20)));
            assertEquals(List.of("copy 1 (32 bytes) on upload-test-0", "copy 2 (32 bytes) on upload-test-0", "copy 3 (32 bytes) on upload-test-0",
                    "order before stream 77"), stream.log, "copies in order, on the upload thread, then the plan's stream is ordered after them");
            assertEquals(96, uploads.bytes.sum());
        }
    }

    @Test
    void aConvertedTemporaryIsKeptUntilItsCopyIsDone() {
        Tensor host = weights(5);
        try (WeightUploads uploads = new WeightUploads(stream, "upload-test", 1)) {
            uploads.submit(host, DType.F16, 10);   // converted on the upload thread: a temporary
            uploads.submit(host, DType.F32, 20);   // the host tensor itself
            uploads.fence(PLAN_STREAM);
        }
        assertEquals(List.of("copy 10 (10 bytes) on upload-test-0", "synchronize", "copy 20 (20 bytes) on upload-test-0",
                "order before stream 77", "close"), stream.log, "only the temporary's copy is waited for");
        assertArrayEquals(host.to(DType.F16).contiguousSegment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), stream.device.get(10L), "converted to F16");
    }

    @Test
    void aFailedUploadFailsEveryLaterFenceAndSubmission() {
        stream.failing = 2;
        CountDownLatch submitted = new CountDownLatch(1);
        stream.holds.put(2L, submitted);   // the failing copy waits until all three are queued (else submit 3 may see it)
        try (WeightUploads uploads = new WeightUploads(stream, "upload-test", 1)) {
            for (long p = 1; p <= 3; p++) uploads.submit(weights(4), DType.F32, p);
            submitted.countDown();
            CudaException e = assertThrows(CudaException.class, () -> uploads.fence(PLAN_STREAM));
            assertTrue(e.getMessage().contains("a weight upload failed") && e.getMessage().contains("simulated"), e.getMessage());
            assertFalse(stream.log.contains("copy 3 (16 bytes) on upload-test-0"), "nothing is copied after a failure: " + stream.log);
            assertFalse(stream.log.stream().anyMatch(s -> s.startsWith("order")), "the plan's stream is never ordered after a failed upload");
            assertThrows(CudaException.class, () -> uploads.fence(PLAN_STREAM), "a later plan fails too");
            assertThrows(CudaException.class, () -> uploads.submit(weights(4), DType.F32, 9));
            assertDoesNotThrow(uploads::drain, "freeing memory stays possible");
        }
    }

    @Test
    void drainWaitsForTheCopiesThenForTheDevice() throws Exception {
        CountDownLatch first = new CountDownLatch(1);
        stream.holds.put(1L, first);
        try (WeightUploads uploads = new WeightUploads(stream, "upload-test", 1)) {
            uploads.submit(weights(4), DType.F32, 1);
            Thread drain = Thread.ofPlatform().start(uploads::drain);
            assertFalse(drain.join(Duration.ofMillis(300)), "a buffer is not freed while its copy is pending");
            first.countDown();
            assertTrue(drain.join(Duration.ofSeconds(20)));
            assertEquals(List.of("copy 1 (16 bytes) on upload-test-0", "synchronize"), stream.log);
        }
    }

    @Test
    void repacksRunOnSeveralUploadThreadsAndAFenceWaitsForAllOfThem() throws Exception {
        Tensor conv = Tensor.fromFloats(new float[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 2, 2, 2, 2);
        CountDownLatch held = new CountDownLatch(1);
        stream.holds.put(3L, held);
        try (WeightUploads uploads = new WeightUploads(stream, "upload-test", 3)) {
            for (long p = 1; p <= 4; p++) uploads.submit(conv.permute(0, 2, 3, 1), DType.F16, p);   // KRSC, as ConvolutionLowering asks
            Thread fence = Thread.ofPlatform().start(() -> uploads.fence(PLAN_STREAM));
            assertFalse(fence.join(Duration.ofMillis(300)), "one copy is still held");
            held.countDown();
            assertTrue(fence.join(Duration.ofSeconds(20)));
            assertEquals("order before stream 77", stream.log.get(stream.log.size() - 1), "ordered after all four: " + stream.log);
        }
        byte[] krsc = conv.permute(0, 2, 3, 1).to(DType.F16).contiguousSegment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        for (long p = 1; p <= 4; p++) assertArrayEquals(krsc, stream.device.get(p), "pointer " + p);
        assertEquals(4, stream.log.stream().filter(s -> s.equals("synchronize")).count(), "each repacked temporary outlives its copy");
    }
    private static WeightUploads.Needs needs(long... numbers) {
        WeightUploads.Needs n = new WeightUploads.Needs();
        for (long x : numbers) n.add(x);
        return n;
    }

    /** Plans built on two threads (one ahead): a plan's fence waits for its own uploads, not for those submitted after them. */
    @Test
    void aFenceOfAPlansOwnUploadsDoesNotWaitForLaterOnes() throws Exception {
        CountDownLatch othersHeld = new CountDownLatch(1);
        stream.holds.put(30L, othersHeld);   // another plan's large repack, submitted after this plan's uploads
        try (WeightUploads uploads = new WeightUploads(stream, "upload-test", 2)) {
            long mine = uploads.submit(weights(4), DType.F32, 10);
            long theirs = uploads.submit(weights(4), DType.F32, 30);
            assertTrue(theirs > mine, "numbered as submitted");
            WeightUploads.Covered covered = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> uploads.fence(PLAN_STREAM, needs(mine)),
                    "this plan's fence passes while the later upload is held");
            assertTrue(covered.covers(mine) && !covered.covers(theirs), covered.toString());
            assertTrue(uploads.mayBeWriting(30), "the held copy may still write its buffer");
            assertEquals(List.of(theirs), uploads.uploadsInto(30, 16), "a plan taking that weight fences it");
            assertEquals(List.of(), uploads.uploadsInto(40, 16), "nothing in flight there");
            uploads.settled(covered);
            assertFalse(uploads.mayBeWriting(10), "settled: freed without draining");
            assertTrue(uploads.mayBeWriting(30), "not covered by the event: not settled");
            Thread all = Thread.ofPlatform().start(() -> uploads.fence(PLAN_STREAM));
            assertFalse(all.join(Duration.ofMillis(300)), "a fence of everything waits for the held copy");
            othersHeld.countDown();
            assertTrue(all.join(Duration.ofSeconds(20)));
        }
    }

    /**
     * A plan built ahead of the denoising loop queues gigabytes of uploads; the text encoder's plan, built afterwards for
     * the stage about to run, must not queue behind them (session 10: the prompt stage waited 1.9 s): its uploads
     * overtake the queued ones, plans built ahead are served in the order of their stages, and its fence waits neither
     * for the earlier-numbered uploads nor for the held one.
     */
    @Test
    void theRunningStagesUploadsOvertakeThoseOfPlansBuiltAhead() throws Exception {
        CountDownLatch firstHeld = new CountDownLatch(1), laterHeld = new CountDownLatch(1);
        stream.holds.put(1L, firstHeld);    // occupies the only upload thread while the others queue
        stream.holds.put(21L, laterHeld);   // the UNet's next upload, taken after the text encoder's
        try (WeightUploads uploads = new WeightUploads(stream, "upload-test", 1)) {
            long[] unet = BuildUrgency.ahead(2, () -> {      // the denoising step's plan, started first
                long[] n = new long[3];
                int i = 0;
                for (long p : new long[]{1, 21, 22}) n[i++] = uploads.submit(weights(4), DType.F32, p);
                return n;
            });
            long image = BuildUrgency.ahead(1, () -> uploads.submit(weights(4), DType.F32, 11));   // the image encoder's
            long text = uploads.submit(weights(4), DType.F32, 5);   // the stage about to run
            firstHeld.countDown();
            WeightUploads.Covered covered = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> uploads.fence(PLAN_STREAM, needs(text)),
                    "the text encoder's fence waits neither for the queued nor for the held upload");
            assertTrue(covered.covers(unet[0]) && covered.covers(text) && !covered.covers(unet[2]), covered.toString());
            WeightUploads.Covered imageCovered = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> uploads.fence(PLAN_STREAM, needs(image)));
            assertTrue(imageCovered.covers(image));
            laterHeld.countDown();
            uploads.drain();
            List<String> copies = stream.log.stream().filter(s -> s.startsWith("copy")).map(s -> s.substring(0, s.indexOf(' ', 5))).toList();
            assertEquals(List.of("copy 1", "copy 5", "copy 11", "copy 21", "copy 22"), copies,
                    "the held upload, then the running stage's, then the plans ahead in their stages' order");
        }
    }
}
