package dev.i2vgen.model.vae;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.model.clip.TestCheckpoints;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import dev.i2vgen.tensor.TensorSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static dev.i2vgen.model.clip.TestCheckpoints.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SVD's VAE: encode (posterior mode) and the pipeline's chunked decode vs the diffusers run's recorded tensors. */
class AutoencoderKLTemporalDecoderConformanceTest {
    static final double TOL = 1e-4;
    static Backend backend;

    @BeforeAll static void start() { backend = Backends.create("jvm"); }

    @AfterAll static void stop() { backend.close(); }

    static TemporalVaeConfig config(ReferenceCase c) { return TemporalVaeConfig.load(TestCheckpoints.config(c, "vae")); }

    static AutoencoderKLTemporalDecoder vae(ReferenceCase c, TensorSource w) { return new AutoencoderKLTemporalDecoder(config(c), w); }

    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked"})
    void encodeGivesTheRecordedMode(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            LatentDistribution d = vae(c, w).encode(backend, c.tensor("vae_encode.input"), DType.F32);
            assertClose(name + " vae_encode.mode", d.mode(), c.tensor("vae_encode.mode"), TOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked"})
    void decodeGivesTheRecordedVideoWithTheCasesChunks(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            Tensor latents = c.tensor("decode.latents");   // [1, F, 4, h, w], before the division by scaling_factor
            assertEquals(c.numFrames(), latents.dim(1));
            Tensor video = vae(c, w).decodeVideo(backend, latents, c.decodeChunkSize(), DType.F32);
            assertClose(name + " decode.video (chunk " + c.decodeChunkSize() + ")", video, c.tensor("decode.video"), TOL);
        }
    }

    @Test
    void framesMixOnlyWithinAChunk() {
        try (ReferenceCase c = ReferenceCase.bundled("svd-tiny-chunked"); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            AutoencoderKLTemporalDecoder vae = vae(c, w);
            Tensor latents = c.tensor("decode.latents");
            Tensor flat = latents.reshape(-1, latents.dim(2), latents.dim(3), latents.dim(4));   // 5 frames: chunks 2, 2, 1
            try (AutoencoderKLTemporalDecoder.FrameDecoder d = vae.frameDecoder(backend, DType.F32)) {
                Tensor chunked = d.decodeVideoFrames(latents, 2);
                Tensor together = d.decodeFrames(flat, null);
                double diff = TensorComparison.relativeError(chunked, together);
                System.out.printf("chunk 2 vs all 5 frames: relative difference %.3e%n", diff);
                assertTrue(diff > 1e-3, "decoding in chunks of 2 should differ from decoding all frames: " + diff);
                for (int start = 0; start < flat.dim(0); start += 2) {
                    int end = Math.min(flat.dim(0), start + 2);
                    Tensor alone = d.decodeFrames(flat.slice(0, start, end).contiguous(), null);
                    assertClose("frames " + start + ".." + end + " in the chunk loop vs alone",
                            chunked.slice(0, start, end).contiguous(), alone, 1e-6);
                }
            }
        }
    }

    @Test
    void numFramesMustDivideTheLatentFrames() {
        try (ReferenceCase c = ReferenceCase.bundled("svd-tiny"); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            TaskGraph g = new TaskGraph("t", DType.F32);
            Value z = g.input("z", DType.F32, 5, 4, 4, 6);
            var e = assertThrows(IllegalArgumentException.class, () -> vae(c, w).decode(g, z, 2));
            assertTrue(e.getMessage().contains("num_frames 2"), e.getMessage());
        }
    }

    /**
     * With the released layers_per_block = 2 the mid block is resnet, attention, resnet and every up block has three
     * resnets. The tiny checkpoint extended with those layers as identities (the extra resnets' conv2 and the
     * attention's output projection zero, so each returns its input) must decode exactly as the tiny decoder does, and
     * the graph must read the extra layers (with layers_per_block = 1 the attention is never applied).
     */
    @Test
    void layersPerBlockTwoAddsTheMidAttentionAndAThirdResnet() throws Exception {
        try (ReferenceCase c = ReferenceCase.bundled("svd-tiny"); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            VaeConfig tiny = config(c).vae();
            TemporalVaeConfig two = TemporalVaeConfig.fromJson(VaeConfigTest.json("""
                    {"block_out_channels": [32, 64], "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
                     "layers_per_block": 2, "scaling_factor": %s}""".formatted(tiny.scalingFactor())));
            TensorSource extended = withIdentityLayers(w);
            Tensor latents = c.tensor("decode.latents").slice(1, 0, 2).contiguous();   // 2 frames keep the run short

            assertFalse(decoderConstants(new AutoencoderKLTemporalDecoder(config(c), w)).stream().anyMatch(n -> n.contains("attentions")));
            Set<String> used = decoderConstants(new AutoencoderKLTemporalDecoder(two, extended));
            for (String extra : new String[]{"decoder.mid_block.attentions.0.to_out.0.weight",
                    "decoder.mid_block.resnets.1.spatial_res_block.conv1.weight", "decoder.up_blocks.1.resnets.2.temporal_res_block.conv2.weight"}) {
                assertTrue(used.contains(extra), "layers_per_block 2 decoder does not read " + extra);
            }

            Tensor expected = new AutoencoderKLTemporalDecoder(config(c), w).decodeVideo(backend, latents, null, DType.F32);
            Tensor actual = new AutoencoderKLTemporalDecoder(two, extended).decodeVideo(backend, latents, null, DType.F32);
            assertClose("layers_per_block 2 with identity extra layers vs 1", actual, expected, 1e-6);
        }
    }

    private static Set<String> decoderConstants(AutoencoderKLTemporalDecoder vae) {
        TaskGraph g = new TaskGraph("decoder", DType.F32);
        g.output("x", vae.decode(g, g.input("z", DType.F32, 2, 4, 4, 6), 2));
        return g.freeze().values().stream().filter(v -> v.kind() == Value.Kind.CONSTANT).map(Value::name).collect(Collectors.toSet());
    }

    /** The tiny VAE plus mid_block.resnets.1, up_blocks.*.resnets.2 (copies with conv2 zeroed) and a zero attention output. */
    private static TensorSource withIdentityLayers(TensorSource src) {
        Map<String, Tensor> out = new HashMap<>();
        for (String n : src.names()) {
            out.put(n, src.get(n));
            String extra = n.startsWith("decoder.mid_block.resnets.0.") ? n.replace(".resnets.0.", ".resnets.1.")
                    : n.matches("decoder\\.up_blocks\\.\\d+\\.resnets\\.1\\..*") ? n.replace(".resnets.1.", ".resnets.2.") : null;
            if (extra != null) out.put(extra, n.contains(".conv2.") ? zeros(src.get(n)) : src.get(n));
            if (n.startsWith("decoder.mid_block.attentions.0.to_out.")) out.put(n, zeros(src.get(n)));
        }
        return new TensorSource() {
            public Tensor get(String name) { return out.get(name); }
            public boolean contains(String name) { return out.containsKey(name); }
            public Set<String> names() { return out.keySet(); }
            public String description() { return "tiny SVD VAE with identity layers"; }
        };
    }

    private static Tensor zeros(Tensor like) { return Tensor.fromFloats(new float[(int) like.numel()], like.shape()); }
}
