package dev.i2vgen.model.vae;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.model.common.JsonConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VaeConfigTest {
    static JsonConfig json(String text) throws Exception {
        return new JsonConfig(new ObjectMapper().readTree(text), "vae/config.json");
    }

    @Test
    void releasedConfig() throws Exception {
        VaeConfig c = VaeConfig.fromJson(json("""
                {"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
                 "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
                 "force_upcast": true, "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
                 "out_channels": 3, "sample_size": 768, "scaling_factor": 0.18125,
                 "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]}"""));
        assertArrayEquals(new int[]{128, 256, 512, 512}, c.blockOutChannels());
        assertEquals(2, c.layersPerBlock());
        assertEquals(0.18125, c.scalingFactor());
        assertEquals(8, c.downsampleFactor());
        assertTrue(c.useQuantConv() && c.usePostQuantConv() && c.midBlockAddAttention());
        assertNull(c.shiftFactor());
    }

    @Test
    void defaultsAreDiffusers() throws Exception {
        VaeConfig c = VaeConfig.fromJson(json("{}"));
        assertArrayEquals(new int[]{64}, c.blockOutChannels());
        assertEquals(1, c.layersPerBlock());
        assertEquals(32, c.normNumGroups());
        assertEquals(4, c.latentChannels());
        assertEquals(0.18215, c.scalingFactor());
        assertEquals(1, c.downsampleFactor());
    }

    @Test
    void unsupportedBlocksAndMismatchesAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(json(
                "{\"block_out_channels\": [32, 64], \"down_block_types\": [\"DownEncoderBlock2D\", \"AttnDownEncoderBlock2D\"]}")));
        assertTrue(e.getMessage().contains("down_block_types") && e.getMessage().contains("AttnDownEncoderBlock2D"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(json(
                "{\"block_out_channels\": [32, 64], \"up_block_types\": [\"UpDecoderBlock2D\"]}")));
        assertTrue(e2.getMessage().contains("up_block_types"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(json("{\"act_fn\": \"relu\"}")));
        assertTrue(e3.getMessage().contains("act_fn"), e3.getMessage());
    }
}
