package dev.i2vgen.io.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class FeatureExtractorConfigTest {
    private static final Path FILE = Path.of("feature_extractor/preprocessor_config.json");

    private static JsonNode json(String s) throws Exception { return new ObjectMapper().readTree(s); }

    @Test
    void readsReleasedLayoutAndOlderIntSizes() throws Exception {
        var c = FeatureExtractorConfig.from(json("{\"crop_size\": {\"height\": 224, \"width\": 200}, \"size\": {\"shortest_edge\": 256},"
                + "\"image_mean\": [0.1, 0.2, 0.3], \"image_std\": [0.4, 0.5, 0.6], \"rescale_factor\": 0.5, \"resample\": 2}"), FILE);
        assertEquals(224, c.cropHeight());
        assertEquals(200, c.cropWidth());
        assertEquals(256, c.shortestEdge());
        assertArrayEquals(new float[]{0.1f, 0.2f, 0.3f}, c.imageMean());
        assertArrayEquals(new float[]{0.4f, 0.5f, 0.6f}, c.imageStd());
        assertEquals(0.5, c.rescaleFactor());
        assertEquals(2, c.resample());

        var old = FeatureExtractorConfig.from(json("{\"crop_size\": 224, \"size\": 224, \"image_mean\": [0.1, 0.2, 0.3], \"image_std\": [1, 1, 1]}"), FILE);
        assertEquals(224, old.cropWidth());
        assertEquals(224, old.shortestEdge());
        assertEquals(1.0 / 255, old.rescaleFactor());
        assertEquals(3, old.resample());
    }

    @Test
    void badFieldsAreNamed() throws Exception {
        var e1 = assertThrows(CheckpointException.class, () -> FeatureExtractorConfig.from(json(
                "{\"crop_size\": {\"height\": 224}, \"image_mean\": [0,0,0], \"image_std\": [1,1,1]}"), FILE));
        assertTrue(e1.getMessage().contains(FILE.toString()) && e1.getMessage().contains("crop_size"), e1.getMessage());
        var e2 = assertThrows(CheckpointException.class, () -> FeatureExtractorConfig.from(json(
                "{\"crop_size\": 224, \"image_mean\": [0,0], \"image_std\": [1,1,1]}"), FILE));
        assertTrue(e2.getMessage().contains("image_mean"), e2.getMessage());
        var e3 = assertThrows(CheckpointException.class, () -> FeatureExtractorConfig.from(json(
                "{\"crop_size\": 224, \"image_mean\": [0,0,0], \"image_std\": [1,0,1]}"), FILE));
        assertTrue(e3.getMessage().contains("image_std"), e3.getMessage());
        var e4 = assertThrows(CheckpointException.class, () -> FeatureExtractorConfig.from(json(
                "{\"crop_size\": 224, \"image_mean\": [0,\"x\",0], \"image_std\": [1,1,1]}"), FILE));
        assertTrue(e4.getMessage().contains("image_mean") && e4.getMessage().contains("numeric"), e4.getMessage());
    }
}
