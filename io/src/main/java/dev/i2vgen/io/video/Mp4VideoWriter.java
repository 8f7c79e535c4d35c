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

    @Override
    public void write(List<RgbImage> frames, int fps) throws IOException {
        VideoWriter.checkFrames(frames, fps);
        RgbImage first = frames.get(0);
        if (first.width() % 2 != 0 || first.height() % 2 != 0) {
            throw new IllegalArgumentException(file + ": H.264 4:2:0 needs even frame sizes, got " + first.width() + "×" + first.height());
        }
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
