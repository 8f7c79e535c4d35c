package dev.i2vgen.io.video;

import dev.i2vgen.io.AtomicFiles;
import dev.i2vgen.io.image.RgbImage;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A video written while its frames are still being made: each frame given to {@link #add} is encoded on a thread of
 * the stream's own, so encoding frame i overlaps whatever makes frame i + 1 (the VAE decoding it). The output is what
 * {@link VideoWriter#write} makes of the same frames (the same {@link FrameEncoder}, the same bytes), written into a
 * temporary sibling that {@link #finish} renames into place; closing the stream unfinished, or a failure of the
 * encoder, leaves no output and no temporary. A failure of the encoder is thrown by the next {@link #add} (the
 * producer can stop early) or by {@link #finish}. One producer thread adds the frames.
 */
public final class VideoStream implements AutoCloseable {
    private final VideoWriter writer;
    private final int fps;
    private final ExecutorService encoderThread;
    private final List<RgbImage> added = new ArrayList<>();
    /** The temporary output, from the first frame on (nothing is on disk before). */
    private AtomicFiles.Pending output;
    /** Opened and used on the encoder thread; closed by the producer once that thread has ended. */
    private volatile FrameEncoder encoder;
    private volatile Throwable failure;
    /** Set by {@link #close}: frames still queued are skipped. */
    private volatile boolean abandoned;
    private volatile long encodingNanos;
    private long finishWaitNanos;
    private boolean done;

    private VideoStream(VideoWriter writer, int fps) {
        this.writer = writer;
        this.fps = fps;
        this.encoderThread = Executors.newSingleThreadExecutor(task -> Thread.ofPlatform().daemon()
                .name("video-encoder " + writer.output().getFileName()).unstarted(task));
    }

    /** A stream writing {@code writer}'s output at {@code fps}; nothing is written before the first frame. */
    public static VideoStream open(VideoWriter writer, int fps) {
        if (fps < 1) throw new IllegalArgumentException("fps must be ≥ 1, got " + fps);
        return new VideoStream(writer, fps);
    }

    /** Where the video goes. */
    public java.nio.file.Path output() { return writer.output(); }

    /** Frames added so far. */
    public int size() { return added.size(); }

    /**
     * Queues the next frame for encoding and returns (the first frame also creates the temporary output). Throws the
     * failure of an earlier frame's encoding, and refuses a frame of another size than the first (as {@link
     * VideoWriter#write} would).
     */
    public void add(RgbImage frame) throws IOException {
        ensureOpen();
        rethrowFailure();
        if (added.isEmpty()) {
            writer.checkFrameSize(frame.width(), frame.height());
            output = writer.begin();
        } else {
            RgbImage first = added.get(0);
            if (frame.width() != first.width() || frame.height() != first.height()) {
                throw new IllegalArgumentException("frame " + added.size() + " is " + frame.width() + "×" + frame.height()
                        + " but frame 0 is " + first.width() + "×" + first.height());
            }
        }
        added.add(frame);
        AtomicFiles.Pending out = output;
        encoderThread.execute(() -> onEncoderThread(() -> {
            if (encoder == null) encoder = writer.openEncoder(out.temporary(), frame.width(), frame.height(), fps);
            encoder.encode(frame);
        }));
    }

    /**
     * Completes the video: {@code frames} is the whole video, of which the frames added so far must be the first;
     * the rest are added now. Waits for the encoder, then renames the output into place. On any failure the output
     * is discarded and the failure thrown.
     */
    public void finish(List<RgbImage> frames) throws IOException {
        ensureOpen();
        try {
            VideoWriter.checkFrames(writer, frames, fps);
            if (frames.size() < added.size()) {
                throw new IllegalArgumentException("the video has " + frames.size() + " frames but " + added.size() + " were streamed");
            }
            for (int i = 0; i < added.size(); i++) {
                if (frames.get(i) != added.get(i) && !frames.get(i).equals(added.get(i))) {
                    throw new IllegalArgumentException("frame " + i + " of the video is not the frame streamed as frame " + i);
                }
            }
            for (int i = added.size(); i < frames.size(); i++) add(frames.get(i));
            long t0 = System.nanoTime();
            encoderThread.execute(() -> onEncoderThread(() -> encoder.finish()));
            stopEncoderThread();
            finishWaitNanos = System.nanoTime() - t0;
            rethrowFailure();
            FrameEncoder e = encoder;
            encoder = null;
            e.close();
            output.publish();
            done = true;
        } catch (IOException | RuntimeException | Error e) {
            try {
                close();
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Time the encoder thread spent encoding (and completing the file): work that overlapped the producer's. */
    public Duration encodingTime() { return Duration.ofNanos(encodingNanos); }

    /** Time {@link #finish} waited for the encoder after the last frame: the part that did not overlap. */
    public Duration finishWait() { return Duration.ofNanos(finishWaitNanos); }

    /** Unless finished: stops the encoder after the frame it is on, and removes the temporary output. */
    @Override
    public void close() throws IOException {
        if (done) return;
        done = true;
        abandoned = true;
        try {
            stopEncoderThread();   // returns (or throws, if interrupted) once the thread has ended
        } finally {
            try {
                FrameEncoder e = encoder;
                encoder = null;
                if (e != null) e.close();
            } finally {
                if (output != null) output.close();
            }
        }
    }

    private interface EncoderWork {
        void run() throws IOException;
    }

    /** Runs on the encoder thread: nothing after a failure or once abandoned; the first failure is kept. */
    private void onEncoderThread(EncoderWork work) {
        if (failure != null || abandoned) return;
        long t0 = System.nanoTime();
        try {
            work.run();
        } catch (Throwable t) {
            failure = t;
        } finally {
            encodingNanos += System.nanoTime() - t0;   // written by this thread only
        }
    }

    /** Lets the queued work run out (skipped once abandoned) and waits for the thread to end, interrupts or not. */
    private void stopEncoderThread() throws InterruptedIOException {
        encoderThread.shutdown();
        boolean interrupted = false;
        while (true) {
            try {
                if (encoderThread.awaitTermination(1, TimeUnit.MINUTES)) break;
            } catch (InterruptedException e) {
                interrupted = true;
                abandoned = true;   // stop soon: the caller was interrupted
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(writer.output() + ": interrupted while encoding the video");
        }
    }

    private void rethrowFailure() throws IOException {
        Throwable f = failure;
        if (f == null) return;
        if (f instanceof IOException e) throw new IOException(e.getMessage(), e);
        if (f instanceof RuntimeException e) throw e;
        if (f instanceof Error e) throw e;
        throw new IOException(writer.output() + ": encoding failed: " + f, f);
    }

    private void ensureOpen() {
        if (done) throw new IllegalStateException(writer.output() + ": the video stream is finished or closed");
    }
}
