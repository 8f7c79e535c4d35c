package dev.i2vgen.io.video;

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

/**
 * H.264 in an MP4 container with pure-Java JCodec 0.2.5 (Baseline profile, an IDR every 25 frames,
 * fixed QP ≈ 20/26; no quality knob). Frames are converted by {@link LimitedRangeYuv} — not through
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

    @Override
    public FrameEncoder openEncoder(Path temporary, int width, int height, int fps) throws IOException {
        checkFrameSize(width, height);
        if (fps < 1) throw new IllegalArgumentException("fps must be ≥ 1, got " + fps);
        FileChannelWrapper channel = NIOUtils.writableChannel(temporary.toFile());
        try {
            MP4Muxer muxer = MP4Muxer.createMP4MuxerToChannel(channel);
            MuxerTrack track = muxer.addVideoTrack(Codec.H264,
                    VideoCodecMeta.createSimpleVideoCodecMeta(new Size(width, height), ColorSpace.YUV420J));
            return new Encoder(channel, muxer, track, H264Encoder.createH264Encoder(), fps);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** One MP4 being written: frame i starts at i in time base 1/fps and lasts 1 tick. */
    private static final class Encoder implements FrameEncoder {
        private final FileChannelWrapper channel;
        private final MP4Muxer muxer;
        private final MuxerTrack track;
        private final H264Encoder encoder;
        private final int fps;
        private int frames;

        Encoder(FileChannelWrapper channel, MP4Muxer muxer, MuxerTrack track, H264Encoder encoder, int fps) {
            this.channel = channel;
            this.muxer = muxer;
            this.track = track;
            this.encoder = encoder;
            this.fps = fps;
        }

        @Override
        public void encode(RgbImage frame) throws IOException {
            Picture picture = LimitedRangeYuv.toPicture(frame);
            ByteBuffer buffer = ByteBuffer.allocate(encoder.estimateBufferSize(picture));
            VideoEncoder.EncodedFrame encoded = encoder.encodeFrame(picture, buffer);
            int i = frames++;
            track.addFrame(Packet.createPacket(encoded.getData(), i, fps, 1, i,
                    encoded.isKeyFrame() ? Packet.FrameType.KEY : Packet.FrameType.INTER, null));
        }

        @Override
        public void finish() throws IOException { muxer.finish(); }

        @Override
        public void close() throws IOException { channel.close(); }
    }
}
