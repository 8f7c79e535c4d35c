package dev.i2vgen.model.vae;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.model.clip.TestCheckpoints;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.i2vgen.model.clip.TestCheckpoints.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** VAE encode (posterior moments) and chunked video decode vs the diffusers run's recorded tensors. */
class AutoencoderKLConformanceTest {
    static final double TOL = 1e-4;
    static Backend backend;

    @BeforeAll static void start() { backend = Backends.create("jvm"); }

    @AfterAll static void stop() { backend.close(); }

    static AutoencoderKL vae(ReferenceCase c, SafetensorsFile w) {
        return new AutoencoderKL(VaeConfig.load(TestCheckpoints.config(c, "vae")), w);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16"})
    void encodeGivesTheRecordedMeanAndLogvar(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            AutoencoderKL vae = vae(c, w);
            LatentDistribution d = vae.encode(backend, c.tensor("vae_encode.input"), DType.F32);
            assertClose(name + " mean", d.mean(), c.tensor("vae_encode.mean"), TOL);
            assertClose(name + " logvar", d.logvar(), c.tensor("vae_encode.logvar"), TOL);

            // the pipeline's image latent = sample(noise) · scaling_factor = frame 0 of the first image_latents row
            Tensor z = d.sample(c.tensor("vae_encode.sample_noise"));
            float sf = (float) vae.scalingFactor();
            float[] scaled = z.toFloatArray();
            for (int i = 0; i < scaled.length; i++) scaled[i] *= sf;
            Tensor firstFrame = c.tensor("image_latents").slice(0, 0, 1).slice(2, 0, 1).contiguous();
            int[] s = z.shape();
            assertClose(name + " image latent", Tensor.fromFloats(scaled, s[0], s[1], 1, s[2], s[3]), firstFrame, TOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void decodeGivesTheRecordedVideoWithTheCasesChunkSize(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            // decode.latents were recorded as given to decode_latents, i.e. before the division by scaling_factor
            Tensor video = vae(c, w).decodeVideo(backend, c.tensor("decode.latents"), c.decodeChunkSize(), DType.F32);
            assertClose(name + " decode.video", video, c.tensor("decode.video"), TOL);
        }
    }

    @Test
    void chunkSizeDoesNotChangeTheVideo() {
        try (ReferenceCase c = ReferenceCase.bundled("tiny"); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            AutoencoderKL vae = vae(c, w);
            Tensor latents = c.tensor("decode.latents");   // 4 frames: chunks of 3 leave a remainder graph of 1
            try (AutoencoderKL.FrameDecoder d = vae.frameDecoder(backend, DType.F32)) {
                Tensor all = d.decodeVideo(latents, null);
                assertClose("chunk 3 vs all", d.decodeVideo(latents, 3), all, 1e-5);
                assertClose("chunk 1 vs all", d.decodeVideo(latents, 1), all, 1e-5);
            }
        }
    }

    @Test
    void chunksAreHandedOverInOrderOnceFinal() {
        try (ReferenceCase c = ReferenceCase.bundled("tiny"); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            AutoencoderKL vae = vae(c, w);
            Tensor latents = c.tensor("decode.latents");   // 4 frames in chunks of 3: rows [0, 3), then [3, 4)
            try (AutoencoderKL.FrameDecoder d = vae.frameDecoder(backend, DType.F32)) {
                java.util.List<int[]> ranges = new java.util.ArrayList<>();
                java.util.List<Tensor> seen = new java.util.ArrayList<>();
                Tensor frames = d.decodeVideoFrames(latents, 3, (video, from, to) -> {
                    ranges.add(new int[]{from, to});
                    seen.add(video.slice(0, from, to).contiguous());   // a copy of the rows as they are when handed over
                });
                assertEquals(java.util.List.of("[0, 3]", "[3, 4]"), ranges.stream().map(java.util.Arrays::toString).toList());
                assertClose("rows 0-2 as handed over", seen.get(0), frames.slice(0, 0, 3).contiguous(), 0);
                assertClose("row 3 as handed over", seen.get(1), frames.slice(0, 3, 4).contiguous(), 0);
            }
        }
    }
    /** A chunk plan compiled elsewhere (ahead, on another thread) from {@code chunkGraph} decodes as the decoder's own. */
    @Test
    void anAdoptedChunkPlanDecodesAsTheDecodersOwn() {
        try (ReferenceCase c = ReferenceCase.bundled("tiny"); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            AutoencoderKL vae = vae(c, w);
            Tensor latents = c.tensor("decode.latents");   // [1, C, 4, h, w]: chunks of 3 and a remainder of 1
            int ch = latents.dim(1), h = latents.dim(3), wd = latents.dim(4);
            java.util.List<int[]> shapes = ChunkedFrameDecoder.chunkShapes(4, ch, h, wd, 3);
            assertEquals(java.util.List.of("[3, " + ch + ", " + h + ", " + wd + "]", "[1, " + ch + ", " + h + ", " + wd + "]"),
                    shapes.stream().map(java.util.Arrays::toString).toList());
            assertEquals(1, ChunkedFrameDecoder.chunkShapes(4, ch, h, wd, null).size(), "all frames at once");
            assertEquals(4, ChunkedFrameDecoder.chunkShapes(4, ch, h, wd, 8).getFirst()[0], "a chunk larger than the video");
            Tensor own;
            try (AutoencoderKL.FrameDecoder d = vae.frameDecoder(backend, DType.F32)) {
                own = d.decodeVideo(latents, 3);
            }
            try (AutoencoderKL.FrameDecoder d = vae.frameDecoder(backend, DType.F32)) {
                var plan = backend.compile(d.chunkGraph(shapes.getFirst()).freeze());
                d.adopt(plan);
                assertThrows(IllegalStateException.class, () -> d.adopt(backend.compile(d.chunkGraph(shapes.getFirst()).freeze())),
                        "one plan per chunk shape");
                // two fresh plans of one graph agree to ~5e-7 here, not bit for bit, while the JIT still moves kernels
                // between tiers (see the pipelines' CfgParallelPipelineTest); bit for bit once it has settled
                assertClose("adopted chunk plan", d.decodeVideo(latents, 3), own, 1e-5);
            }
        }
    }
}
