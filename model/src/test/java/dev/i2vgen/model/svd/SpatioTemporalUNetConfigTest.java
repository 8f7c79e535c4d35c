package dev.i2vgen.model.svd;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.config.JsonConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** SVD UNet config values are checked where they are read: the error names the file and the key. */
class SpatioTemporalUNetConfigTest {
    static SpatioTemporalUNetConfig parse(String json) throws Exception {
        return SpatioTemporalUNetConfig.fromJson(new JsonConfig(new ObjectMapper().readTree(json), "svd/unet/config.json"));
    }

    static void assertRejected(String json, String key, String expected) {
        var e = assertThrows(IllegalArgumentException.class, () -> parse(json));
        assertTrue(e.getMessage().startsWith("svd/unet/config.json: '" + key + "' ") && e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void defaultsAreDiffusers() throws Exception {
        var c = parse("{}");
        assertArrayEquals(new int[]{5, 10, 20, 20}, c.numAttentionHeads());
        assertNull(c.sampleSize());
    }

    @Test
    void zeroAndNegativeValuesAreRejectedWhereRead() {
        assertRejected("{\"num_attention_heads\": 0}", "num_attention_heads", "must be a positive integer");
        assertRejected("{\"num_attention_heads\": [5, 10, 0, 20]}", "num_attention_heads", "must hold positive integers");
        assertRejected("{\"block_out_channels\": [320, 0, 1280, 1280]}", "block_out_channels", "must hold positive integers");
        assertRejected("{\"cross_attention_dim\": 0}", "cross_attention_dim", "must be a positive integer");
        assertRejected("{\"addition_time_embed_dim\": -256}", "addition_time_embed_dim", "must be a positive integer");
        assertRejected("{\"sample_size\": 0}", "sample_size", "must be a positive integer");
        assertRejected("{\"num_frames\": 0}", "num_frames", "must be a positive integer");
    }

    @Test
    void wrongTypeAndDivisibilityNameTheKey() {
        assertRejected("{\"layers_per_block\": \"two\"}", "layers_per_block", "must be an integer");
        assertRejected("{\"num_attention_heads\": 7}", "num_attention_heads", "does not divide block_out_channels[0] = 320");
        assertRejected("{\"block_out_channels\": [320, 640, 1280, 1000]}", "block_out_channels", "not divisible by the 32 GroupNorm groups");
    }
}
