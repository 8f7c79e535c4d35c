package dev.i2vgen.model.vae;

import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.model.clip.TestCheckpoints;
import org.junit.jupiter.api.Test;

import static dev.i2vgen.model.vae.VaeConfigTest.json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AutoencoderKLTemporalDecoderConfigTest {

    @Test
    void releasedSvdConfig() throws Exception {
        TemporalVaeConfig c = TemporalVaeConfig.fromJson(json("""
                {"_class_name": "AutoencoderKLTemporalDecoder", "_diffusers_version": "0.24.0.dev0",
                 "block_out_channels": [128, 256, 512, 512],
                 "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
                 "force_upcast": true, "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "out_channels": 3,
                 "sample_size": 768, "scaling_factor": 0.18215}"""));
        VaeConfig v = c.vae();
        assertArrayEquals(new int[]{128, 256, 512, 512}, v.blockOutChannels());
        assertEquals(2, v.layersPerBlock());
        assertEquals(0.18215, c.scalingFactor());
        assertEquals(8, c.downsampleFactor());
        assertEquals(768, c.sampleSize());
        assertTrue(c.forceUpcast());
        // what the class fixes: quant_conv but no post_quant_conv, 32 groups, the encoder's mid attention, no shift
        assertTrue(v.useQuantConv() && v.midBlockAddAttention());
        assertFalse(v.usePostQuantConv());
        assertEquals(32, v.normNumGroups());
        assertNull(v.shiftFactor());
    }

    @Test
    void defaultsAreDiffusers() throws Exception {
        TemporalVaeConfig c = TemporalVaeConfig.fromJson(json("{}"));
        assertArrayEquals(new int[]{64}, c.vae().blockOutChannels());
        assertEquals(1, c.vae().layersPerBlock());
        assertEquals(3, c.vae().inChannels());
        assertEquals(3, c.vae().outChannels());
        assertEquals(4, c.latentChannels());
        assertEquals(0.18215, c.scalingFactor());
        assertEquals(32, c.sampleSize());
        assertTrue(c.forceUpcast());
    }

    @Test
    void keysTheClassDoesNotTakeAreIgnored() throws Exception {
        TemporalVaeConfig c = TemporalVaeConfig.fromJson(json("""
                {"norm_num_groups": 16, "use_post_quant_conv": true, "act_fn": "relu", "up_block_types": ["X"], "foo": [1]}"""));
        assertEquals(32, c.vae().normNumGroups());
        assertFalse(c.vae().usePostQuantConv());
    }

    @Test
    void wrongTypesNameTheFileAndKey() {
        for (String bad : new String[]{"{\"layers_per_block\": \"2\"}", "{\"force_upcast\": 1}", "{\"sample_size\": [64, 64]}",
                "{\"block_out_channels\": 64}", "{\"scaling_factor\": \"0.18\"}", "{\"down_block_types\": \"DownEncoderBlock2D\"}"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> TemporalVaeConfig.fromJson(json(bad)), bad);
            String key = bad.substring(2, bad.indexOf('"', 2));
            assertTrue(e.getMessage().contains("vae/config.json") && e.getMessage().contains("'" + key + "'"), e.getMessage());
        }
    }

    @Test
    void unsupportedBlocksAndOtherClassesAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> TemporalVaeConfig.fromJson(json(
                "{\"block_out_channels\": [32, 64], \"down_block_types\": [\"DownEncoderBlock2D\", \"AttnDownEncoderBlock2D\"]}")));
        assertTrue(e.getMessage().contains("down_block_types") && e.getMessage().contains("AttnDownEncoderBlock2D"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> TemporalVaeConfig.fromJson(json("{\"_class_name\": \"AutoencoderKL\"}")));
        assertTrue(e2.getMessage().contains("_class_name") && e2.getMessage().contains("AutoencoderKL"), e2.getMessage());
        // and the 2-D VAE's config reader points SVD's VAE config to this class
        var e3 = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(json("{\"_class_name\": \"AutoencoderKLTemporalDecoder\"}")));
        assertTrue(e3.getMessage().contains("TemporalVaeConfig"), e3.getMessage());
    }

    @Test
    void tinyCheckpointConfigLoads() {
        try (ReferenceCase c = ReferenceCase.bundled("svd-tiny")) {
            TemporalVaeConfig cfg = TemporalVaeConfig.load(TestCheckpoints.config(c, "vae"));
            assertArrayEquals(new int[]{32, 64}, cfg.vae().blockOutChannels());
            assertEquals(1, cfg.vae().layersPerBlock());
            assertEquals(2, cfg.downsampleFactor());
        }
    }
}
