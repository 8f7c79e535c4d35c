package dev.i2vgen.io.video;

import org.jcodec.common.DemuxerTrack;
import org.jcodec.common.io.FileChannelWrapper;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.model.Packet;
import org.jcodec.containers.mp4.demuxer.MP4Demuxer;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The coded video of an MP4, packet by packet (H.264 data, time, key frame or not): what two writes of the same frames
 * must share byte for byte. The file bytes themselves differ in the creation time jcodec writes into the header.
 */
public final class Mp4Packets {
    private Mp4Packets() {}

    public static List<String> read(Path mp4) throws Exception {
        List<String> packets = new ArrayList<>();
        try (FileChannelWrapper ch = NIOUtils.readableChannel(mp4.toFile())) {
            DemuxerTrack track = MP4Demuxer.createMP4Demuxer(ch).getVideoTrack();
            for (Packet p; (p = track.nextFrame()) != null; ) {
                ByteBuffer data = p.getData();
                byte[] bytes = new byte[data.remaining()];
                data.get(bytes);
                packets.add(p.getPts() + "/" + p.getTimescale() + " " + p.getDuration() + " " + p.getFrameType() + " " + HexFormat.of().formatHex(bytes));
            }
        }
        return packets;
    }
}
