package dev.i2vgen.model.unet;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The full released architecture (unet/config.json of ali-vilab/i2vgen-xl) built with generated weights
 * of the released names and shapes: shape inference only, nothing is run.
 */
class UNetArchitectureTest {
    static UNetConfig released;
    static GeneratedWeights weights;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = UNetArchitectureTest.class.getResourceAsStream("/unet/released-unet-config.json")) {
            released = UNetConfig.fromJson(new ObjectMapper().readTree(in), "released-unet-config.json");
        }
        weights = GeneratedWeights.fromResource("/unet/released-unet-tensors.tsv");
    }

    @Test
    void releasedConfigIsParsedWithHeadDimSemantics() {
        assertArrayEquals(new int[]{320, 640, 1280, 1280}, released.blockOutChannels());
        assertEquals(64, released.headDim(0));
        assertEquals(1280, released.timeEmbedDim());
        assertEquals(145, released.contextLength(77));
        assertEquals(3, released.upsamplers());
    }

    @Test
    void fullGraphUsesEveryReleasedTensorAndHasTheReleasedParameterCount() {
        assertEquals(1_420_469_224L, weights.parameterCount(), "tensor list itself");
        UNetStepGraph step = new I2VGenXLUNet(released, weights).buildGraph(new UNetShape(2, 8, 32, 48, 77), DType.F16, true);
        Set<String> used = step.graph().values().stream()
                .filter(v -> v.kind() == Value.Kind.CONSTANT && weights.contains(v.name()))
                .map(Value::name).collect(Collectors.toSet());
        Set<String> unused = new HashSet<>(weights.names());
        unused.removeAll(used);
        assertTrue(unused.isEmpty(), "checkpoint tensors the graph does not use: " + unused);
        assertEquals(1_420_469_224L, step.parameterCount(weights::contains));
        assertArrayEquals(new int[]{2, 4, 8, 32, 48}, step.graph().output(I2VGenXLUNet.OUT).shape());
    }

    @Test
    void activationShapesMatchTheSpecSmallCase() {
        // spec 4.12, "small" column: B = 2, F = 8, 32×48 latent
        UNetStepGraph step = new I2VGenXLUNet(released, weights).buildGraph(new UNetShape(2, 8, 32, 48, 77), DType.F32, true);
        Map<String, int[]> expected = Map.ofEntries(
                Map.entry("time_embedding", new int[]{2, 1280}),
                Map.entry("image_latents_context_embedding", new int[]{2, 1024, 8, 8}),
                Map.entry("image_latents_temporal_encoder", new int[]{3072, 8, 4}),
                Map.entry("conv_in", new int[]{16, 320, 32, 48}),
                Map.entry("transformer_in", new int[]{16, 320, 32, 48}),
                Map.entry("down_blocks.0", new int[]{16, 320, 16, 24}),
                Map.entry("down_blocks.1", new int[]{16, 640, 8, 12}),
                Map.entry("down_blocks.2", new int[]{16, 1280, 4, 6}),
                Map.entry("down_blocks.3", new int[]{16, 1280, 4, 6}),
                Map.entry("mid_block", new int[]{16, 1280, 4, 6}),
                Map.entry("up_blocks.0", new int[]{16, 1280, 8, 12}),
                Map.entry("up_blocks.1", new int[]{16, 1280, 16, 24}),
                Map.entry("up_blocks.2", new int[]{16, 640, 32, 48}),
                Map.entry("up_blocks.3", new int[]{16, 320, 32, 48}),
                Map.entry("conv_out", new int[]{16, 4, 32, 48}));
        expected.forEach((module, shape) -> assertArrayEquals(shape,
                step.graph().output(I2VGenXLUNet.MODULE_PREFIX + module).shape(), module));
    }

    @Test
    void latentSizeNotDivisibleByEightFollowsSkipSizes() {
        // 11×21: the downsamplers give 6×11, 3×6, 2×3; upsampling must land on the skips' sizes, not 2×.
        UNetStepGraph step = new I2VGenXLUNet(released, weights).buildGraph(new UNetShape(1, 2, 11, 21, 77), DType.F32, true);
        assertArrayEquals(new int[]{2, 1280, 3, 6}, step.graph().output("unet0.up_blocks.0").shape());
        assertArrayEquals(new int[]{2, 1280, 6, 11}, step.graph().output("unet0.up_blocks.1").shape());
        assertArrayEquals(new int[]{1, 4, 2, 11, 21}, step.graph().output(I2VGenXLUNet.OUT).shape());
    }

    @Test
    void missingTensorIsNamed() {
        var partial = new dev.i2vgen.tensor.TensorSource() {
            public dev.i2vgen.tensor.Tensor get(String n) { return weights.get(n); }
            public boolean contains(String n) { return !n.equals("mid_block.temp_convs.1.conv3.3.weight") && weights.contains(n); }
            public Set<String> names() { return weights.names(); }
            public String description() { return "partial checkpoint"; }
        };
        var e = assertThrows(IllegalArgumentException.class,
                () -> new I2VGenXLUNet(released, partial).buildGraph(new UNetShape(2, 2, 16, 16, 77), DType.F32, false));
        assertTrue(e.getMessage().contains("mid_block.temp_convs.1.conv3.3.weight"), e.getMessage());
    }

    @Test
    void badConfigIsRejectedWithTheKey() throws Exception {
        var json = new ObjectMapper().readTree("{\"block_out_channels\":[320,640],\"attention_head_dim\":64,\"norm_num_groups\":32,"
                + "\"down_block_types\":[\"CrossAttnDownBlock3D\",\"DownBlock3D\"],\"up_block_types\":[\"UpBlock3D\"]}");
        var e = assertThrows(IllegalArgumentException.class, () -> UNetConfig.fromJson(json, "my/config.json"));
        assertTrue(e.getMessage().contains("my/config.json") && e.getMessage().contains("up_block_types"), e.getMessage());
    }
}
