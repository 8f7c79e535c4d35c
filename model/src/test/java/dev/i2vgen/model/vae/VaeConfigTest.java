package dev.i2vgen.model.vae;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.config.JsonConfig;
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

    private static void rejected(String json, String expected) {
        var e = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(json(json)));
        assertEquals("vae/config.json: " + expected, e.getMessage());
    }

    @Test
    void everyBadValueNamesTheFileAndTheKey() {
        rejected("{\"norm_num_groups\": 0}", "'norm_num_groups' must be a positive integer, got 0");   // was "/ by zero"
        rejected("{\"norm_num_groups\": 24}", "'block_out_channels' [0] = 64 is not divisible by the 24 GroupNorm groups (norm_num_groups)");
        rejected("{\"block_out_channels\": [64, 0]}", "'block_out_channels' must hold positive integers, got [1] = 0");
        rejected("{\"layers_per_block\": \"two\"}", "'layers_per_block' must be an integer, got \"two\"");
        rejected("{\"in_channels\": 4.5}", "'in_channels' must be an integer, got 4.5");
        rejected("{\"latent_channels\": 0}", "'latent_channels' must be a positive integer, got 0");
        rejected("{\"out_channels\": -3}", "'out_channels' must be a positive integer, got -3");
        rejected("{\"scaling_factor\": 0}", "'scaling_factor' must be a positive number, got 0.0");
        rejected("{\"shift_factor\": 1e999}", "'shift_factor' must be a finite number, got Infinity");
        rejected("{\"use_quant_conv\": 1}", "'use_quant_conv' must be true or false, got 1");
    }

    @Test
    void theTemporalVaeNamesItsFileToo() {
        var e = assertThrows(IllegalArgumentException.class, () -> TemporalVaeConfig.fromJson(json("{\"sample_size\": -1}")));
        assertEquals("vae/config.json: 'sample_size' must be a positive integer, got -1", e.getMessage());
        var groups = assertThrows(IllegalArgumentException.class, () -> TemporalVaeConfig.fromJson(json("{\"block_out_channels\": [48]}")));
        assertEquals("vae/config.json: 'block_out_channels' [0] = 48 is not divisible by the 32 GroupNorm groups (norm_num_groups)", groups.getMessage());
    }
}
