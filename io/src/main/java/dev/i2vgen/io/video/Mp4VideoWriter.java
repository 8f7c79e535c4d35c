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
import java.util.List;

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
    public void write(List<RgbImage> frames, int fps) throws IOException {
        VideoWriter.checkFrames(this, frames, fps);
        RgbImage first = frames.get(0);
        AtomicFiles.writeFile(file, tmp -> {
            try (FileChannelWrapper channel = NIOUtils.writableChannel(tmp.toFile())) {
                MP4Muxer muxer = MP4Muxer.createMP4MuxerToChannel(channel);
                MuxerTrack track = muxer.addVideoTrack(Codec.H264,
                        VideoCodecMeta.createSimpleVideoCodecMeta(new Size(first.width(), first.height()), ColorSpace.YUV420J));
                H264Encoder encoder = H264Encoder.createH264Encoder();
                for (int i = 0; i < frames.size(); i++) {
                    Picture picture = LimitedRangeYuv.toPicture(frames.get(i));
                    ByteBuffer buffer = ByteBuffer.allocate(encoder.estimateBufferSize(picture));
                    VideoEncoder.EncodedFrame encoded = encoder.encodeFrame(picture, buffer);
                    // Time base = 1/fps: frame i starts at i and lasts 1 tick.
                    track.addFrame(Packet.createPacket(encoded.getData(), i, fps, 1, i,
                            encoded.isKeyFrame() ? Packet.FrameType.KEY : Packet.FrameType.INTER, null));
                }
                muxer.finish();
            }
        });
    }
}
