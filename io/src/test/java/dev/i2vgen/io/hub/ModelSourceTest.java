package dev.i2vgen.io.hub;

import dev.i2vgen.io.checkpoint.Variant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a model name is: an existing path stays a folder, org/name goes to the Hub, anything else is an error. */
class ModelSourceTest {
    @TempDir
    Path dir;

    private ModelSource source() {
        return ModelSource.of(HubSettings.fromEnvironment(Map.of("HF_HUB_CACHE", dir.resolve("cache").toString(), "HF_HUB_OFFLINE", "1"), dir),
                HubFixtures.FAST_RETRIES);
    }

    @Test
    void anExistingPathIsALocalCheckpoint() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("org/name"));   // looks like a repository id, but exists
        try (ModelSource s = source()) {
            ModelReference ref = s.locate(folder.toString(), null);
            assertEquals(new LocalCheckpoint(folder), ref);
            assertEquals(folder, s.resolve(folder.toString(), null, Variant.FP16, DownloadListener.NONE));
            assertEquals(folder.resolve("model_index.json"), ref.modelIndex(DownloadListener.NONE));
            HubException e = assertThrows(HubException.class, () -> s.locate(folder.toString(), "main"));
            assertTrue(e.getMessage().contains("applies to a Hub repository id"), e.getMessage());
        }
    }

    @Test
    void aRepositoryIdIsAHubCheckpointAtMainByDefault() {
        try (ModelSource s = source()) {
            HubCheckpoint ref = assertInstanceOf(HubCheckpoint.class, s.locate("ali-vilab/i2vgen-xl", null));
            assertEquals("ali-vilab/i2vgen-xl", ref.repository().id());
            assertEquals("main", ref.revision());
            assertEquals("ali-vilab/i2vgen-xl at revision v1.0", s.locate("ali-vilab/i2vgen-xl", "v1.0").describe());
        }
    }
}
