package dev.i2vgen.io.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.config.ConfigProblem;
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

    private static void rejected(String json, String expected) {
        var e = assertThrows(ConfigProblem.class, () -> FeatureExtractorConfig.from(json(json), FILE));
        assertEquals(FILE + ": " + expected, e.getMessage());
    }

    private static final String MEAN_STD = "\"image_mean\": [0, 0, 0], \"image_std\": [1, 1, 1]";

    @Test
    void badFieldsNameTheFileAndTheKey() {
        rejected("{\"crop_size\": {\"height\": 224}, " + MEAN_STD + "}", "'crop_size.width' is required");
        rejected("{\"crop_size\": {\"height\": 0, \"width\": 224}, " + MEAN_STD + "}", "'crop_size.height' must be a positive integer, got 0");
        rejected("{\"crop_size\": 224.5, " + MEAN_STD + "}", "'crop_size' must be an integer, got 224.5");
        rejected("{\"crop_size\": 224, \"size\": {\"shortest_edge\": \"x\"}, " + MEAN_STD + "}", "'size.shortest_edge' must be an integer, got \"x\"");
        rejected("{\"crop_size\": 224, \"image_mean\": [0,0], \"image_std\": [1,1,1]}", "'image_mean' must hold 3 numbers (R, G, B), got 2");
        rejected("{\"crop_size\": 224, \"image_mean\": [0,\"x\",0], \"image_std\": [1,1,1]}", "'image_mean' must be an array of finite numbers, got [0,\"x\",0]");
        rejected("{\"crop_size\": 224, \"image_mean\": [0,0,0], \"image_std\": [1,0,1]}", "'image_std' must hold positive numbers (they divide), got [1.0, 0.0, 1.0]");
        rejected("{\"crop_size\": 224, " + MEAN_STD + ", \"rescale_factor\": 0}", "'rescale_factor' must be a positive number, got 0.0");
        rejected("{\"crop_size\": 224, " + MEAN_STD + ", \"resample\": 9}", "'resample' must be a PIL filter id 0..5, got 9");
        rejected("{\"crop_size\": 224, " + MEAN_STD + ", \"resample\": 2.5}", "'resample' must be an integer, got 2.5");
    }
}
