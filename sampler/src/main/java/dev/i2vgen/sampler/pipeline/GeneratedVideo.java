package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.Tensor;

import java.util.List;

/**
 * The result: 8-bit RGB frames (what "pil" gives) and the float frames [F, H, W, 3] in [0, 1] ("np"); with I4VGen and
 * {@link I4VGenOptions#decodeIntermediate()}, also the decoded NI-VSDS result (else empty).
 */
public record GeneratedVideo(List<RgbImage> frames, Tensor framesFloat, long seed, List<RgbImage> intermediateFrames) {
    public GeneratedVideo {
        frames = List.copyOf(frames);
        intermediateFrames = List.copyOf(intermediateFrames);
    }

    public GeneratedVideo(List<RgbImage> frames, Tensor framesFloat, long seed) {
        this(frames, framesFloat, seed, List.of());
    }
}
