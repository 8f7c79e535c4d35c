package dev.i2vgen.io.video;

import dev.i2vgen.concurrent.Futures;
import dev.i2vgen.io.AtomicFiles;
import dev.i2vgen.io.image.RgbImage;
import org.jcodec.codecs.h264.H264Encoder;
import org.jcodec.common.Codec;
import org.jcodec.common.MuxerTrack;
import org.jcodec.common.VideoCodecMeta;
import org.jcodec.common.VideoEncoder;
import org.jcodec.common.io.FileChannelWrapper;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.model.ColorSpace;
import org.jcodec.common.model.Packet;
import org.jcodec.common.model.Picture;
import org.jcodec.common.model.Size;
import org.jcodec.containers.mp4.muxer.MP4Muxer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * H.264 in an MP4 container with pure-Java JCodec 0.2.5 (Baseline profile, an IDR every {@value #GOP_FRAMES} frames,
 * fixed QP ≈ 20/26; no quality knob). jcodec's encoder is single-threaded and, in a fresh process, slow (~0.2 s a
 * 1280×704 frame while the JIT warms up), so each group of pictures (an IDR and the P frames that refer to it) gets
 * an encoder of its own and the groups are encoded concurrently; the muxer takes the packets in order at the end. Frames are converted by {@link LimitedRangeYuv} — not through
 * jcodec's full-range conversion — so standard players show the right levels. Frame sizes must be even.
 */
public final class Mp4VideoWriter implements VideoWriter {
    private final Path file;

    public Mp4VideoWriter(Path file) { this.file = file; }

    @Override public Path output() { return file; }

    /**
     * Frames must be even-sized (4:2:0) and at least this wide and high: jcodec sizes a frame's slice buffer by its
     * pixel count, and the coded slice of a smaller high-detail frame (8×8 to 24×24, noise) overflows it
     * ({@code BufferOverflowException}); from 32 on, the rate control keeps every frame inside.
     */
    public static final int MIN_SIDE = 32;

    /**
     * Frames per group of pictures: groups are independent, so they encode in parallel (16 frames: two groups, about
     * half the time of one encoder; an IDR every 0.5 s at 16 fps costs ~10 % more bytes than one per video).
     */
    public static final int GOP_FRAMES = 8;

    @Override
    public void checkFrameSize(int width, int height) {
        if (width % 2 != 0 || height % 2 != 0) {
            throw new IllegalArgumentException(file + ": H.264 4:2:0 needs even frame sizes, got " + width + "×" + height);
        }
        if (width < MIN_SIDE || height < MIN_SIDE) {
            throw new IllegalArgumentException(file + ": the MP4 encoder (jcodec H.264) needs frames of at least " + MIN_SIDE
                    + "×" + MIN_SIDE + " pixels, got " + width + "×" + height + " (write a GIF or PNG frames instead)");
        }
    }

    @Override
    public void checkTarget() throws IOException { AtomicFiles.checkFileTarget(file); }

    /** Encodes throwaway frames of this size on a thread of its own, once per process ({@link Mp4EncoderWarmUp}). */
    @Override
    public void warmUp(int width, int height) {
        if (width % 2 == 0 && height % 2 == 0 && width >= MIN_SIDE && height >= MIN_SIDE) Mp4EncoderWarmUp.startOnce(width, height);
    }

    @Override
    public FrameEncoder openEncoder(Path temporary, int width, int height, int fps) throws IOException {
        checkFrameSize(width, height);
        if (fps < 1) throw new IllegalArgumentException("fps must be ≥ 1, got " + fps);
        FileChannelWrapper channel = NIOUtils.writableChannel(temporary.toFile());
        try {
            MP4Muxer muxer = MP4Muxer.createMP4MuxerToChannel(channel);
            MuxerTrack track = muxer.addVideoTrack(Codec.H264,
                    VideoCodecMeta.createSimpleVideoCodecMeta(new Size(width, height), ColorSpace.YUV420J));
            return new Encoder(channel, muxer, track, fps);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * One MP4 being written: frame i starts at i in time base 1/fps and lasts 1 tick. Frame i goes to group
     * i / GOP_FRAMES, whose frames are encoded one after another by its own encoder on the pool; groups run side by side.
     */
    private static final class Encoder implements FrameEncoder {
        private static final int THREADS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
        private final FileChannelWrapper channel;
        private final MP4Muxer muxer;
        private final MuxerTrack track;
        private final int fps;
        private final ExecutorService pool = Executors.newFixedThreadPool(THREADS, Thread.ofPlatform().daemon().name("mp4-encoder-", 0).factory());
        private final List<Group> groups = new ArrayList<>();
        private int frames;

        /** A group's encoder, its packets in order, and the tail of its chain of frame encodes. */
        private static final class Group {
            final H264Encoder encoder = H264Encoder.createH264Encoder();
            final List<VideoEncoder.EncodedFrame> packets = new ArrayList<>();
            CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
        }

        Encoder(FileChannelWrapper channel, MP4Muxer muxer, MuxerTrack track, int fps) {
            this.channel = channel;
            this.muxer = muxer;
            this.track = track;
            this.fps = fps;
        }

        @Override
        public void encode(RgbImage frame) throws IOException {
            for (Group g : groups) if (g.tail.isCompletedExceptionally()) await(g);   // an earlier frame's failure, now
            if (frames++ % GOP_FRAMES == 0) groups.add(new Group());
            Group g = groups.getLast();
            g.tail = g.tail.thenRunAsync(() -> {
                Picture picture = LimitedRangeYuv.toPicture(frame);
                ByteBuffer buffer = ByteBuffer.allocate(g.encoder.estimateBufferSize(picture));
                g.packets.add(g.encoder.encodeFrame(picture, buffer));
            }, pool);
        }

        @Override
        public void finish() throws IOException {
            int i = 0;
            for (Group g : groups) {
                await(g);
                for (VideoEncoder.EncodedFrame encoded : g.packets) {
                    track.addFrame(Packet.createPacket(encoded.getData(), i, fps, 1, i,
                            encoded.isKeyFrame() ? Packet.FrameType.KEY : Packet.FrameType.INTER, null));
                    i++;
                }
            }
            muxer.finish();
        }

        /** Waits for a group's frames; a frame's failure is thrown as it was raised on the pool. */
        private static void await(Group g) throws IOException {
            Futures.join(g.tail, IOException.class);
        }

        @Override
        public void close() throws IOException {
            pool.shutdownNow();
            channel.close();
        }
    }
}
