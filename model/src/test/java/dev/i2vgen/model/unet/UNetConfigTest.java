package dev.i2vgen.model.unet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** UNet config values are checked where they are read: the error names the file and the key. */
class UNetConfigTest {
    static final String VALID = "{\"block_out_channels\":[320,640],\"attention_head_dim\":64,\"norm_num_groups\":32,"
            + "\"down_block_types\":[\"CrossAttnDownBlock3D\",\"DownBlock3D\"],\"up_block_types\":[\"UpBlock3D\",\"CrossAttnUpBlock3D\"]}";

    /** The valid config with {@code key} set to {@code valueJson} (or removed when null). */
    static UNetConfig parse(String key, String valueJson) throws Exception {
        var mapper = new ObjectMapper();
        ObjectNode json = (ObjectNode) mapper.readTree(VALID);
        if (valueJson == null) json.remove(key);
        else json.set(key, mapper.readTree(valueJson));
        return UNetConfig.fromJson(json, "my/unet/config.json");
    }

    static void assertRejected(String key, String valueJson, String expected) {
        var e = assertThrows(IllegalArgumentException.class, () -> parse(key, valueJson));
        assertTrue(e.getMessage().startsWith("my/unet/config.json: '" + key + "' ") && e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void validConfigKeepsDefaults() throws Exception {
        UNetConfig c = parse("layers_per_block", null);
        assertEquals(2, c.layersPerBlock());
        assertEquals(4, c.inChannels());
        assertArrayEquals(new int[]{64, 64}, c.attentionHeadDims());
    }

    @Test
    void wrongTypeIsNotReadAsTheDefault() {
        assertRejected("layers_per_block", "\"two\"", "must be an integer");
        assertRejected("in_channels", "4.5", "must be an integer");
        assertRejected("attention_head_dim", "\"64\"", "must be an integer");
        assertRejected("block_out_channels", "[320, \"640\"]", "an array of integers");
        assertRejected("down_block_types", "[1, 2]", "an array of strings");
    }

    @Test
    void zeroAndNegativeSizesAreRejectedBeforeAnyDivision() {
        assertRejected("norm_num_groups", "0", "must be a positive integer");
        assertRejected("attention_head_dim", "0", "must be a positive integer");
        assertRejected("attention_head_dim", "[64, 0]", "must hold positive integers");
        assertRejected("block_out_channels", "[320, -640]", "must hold positive integers");
        assertRejected("layers_per_block", "0", "must be a positive integer");
        assertRejected("cross_attention_dim", "-1", "must be a positive integer");
        assertRejected("in_channels", "0", "must be a positive integer");
    }

    @Test
    void channelsMustBeDivisible() {
        assertRejected("norm_num_groups", "48", "does not divide block_out_channels[0] = 320");
        assertRejected("attention_head_dim", "96", "does not divide block_out_channels[0] = 320");
    }

    @Test
    void keysWithoutDefaultsAreRequired() {
        assertRejected("norm_num_groups", null, "is required");
        assertRejected("norm_num_groups", "null", "is required");
        assertRejected("attention_head_dim", null, "is required");
    }
}
