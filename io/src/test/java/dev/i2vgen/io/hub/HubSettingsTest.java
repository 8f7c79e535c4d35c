package dev.i2vgen.io.hub;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The environment read as huggingface_hub reads it (constants.py, utils/_auth.py). */
class HubSettingsTest {
    @TempDir
    Path home;

    private HubSettings from(String... keyValues) {
        Map<String, String> env = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) env.put(keyValues[i], keyValues[i + 1]);
        return HubSettings.fromEnvironment(env, home);
    }

    @Test
    void defaultsAreHuggingfaceHubs() {
        HubSettings s = from();
        assertEquals(URI.create("https://huggingface.co"), s.endpoint());
        assertEquals(home.resolve(".cache/huggingface/hub"), s.cacheDir());
        assertNull(s.token());
        assertFalse(s.offline());
        assertEquals(Duration.ofSeconds(10), s.timeout());
    }

    @Test
    void theCacheIsHfHubCacheElseHfHomeElseXdgCacheHome() {
        assertEquals(Path.of("/x/hub"), from("XDG_CACHE_HOME", "/x/..", "HF_HOME", "/x").cacheDir());
        assertEquals(Path.of("/xdg/huggingface/hub"), from("XDG_CACHE_HOME", "/xdg").cacheDir());
        assertEquals(Path.of("/c"), from("HF_HOME", "/x", "HF_HUB_CACHE", "/c").cacheDir());
        assertEquals(Path.of("/legacy"), from("HUGGINGFACE_HUB_CACHE", "/legacy").cacheDir());
        assertEquals(Path.of("/c"), from("HUGGINGFACE_HUB_CACHE", "/legacy", "HF_HUB_CACHE", "/c").cacheDir());
        assertEquals(home.resolve("hf/hub"), from("HF_HOME", "~/hf").cacheDir(), "~ is the home folder");
        assertEquals(Path.of("/data/user/hub"), from("HF_HOME", "$BASE/${WHO}", "BASE", "/data", "WHO", "user").cacheDir(), "$VAR expanded");
        assertEquals(home.resolve(".cache/huggingface/hub"), from("HF_HOME", "").cacheDir(), "empty is unset, as os.getenv(...) or ...");
    }

    @Test
    void theTokenIsHfTokenElseTheTokenFile() throws Exception {
        assertEquals("hf_env", from("HF_TOKEN", " hf_env\n").token());
        assertEquals("HF_TOKEN", from("HF_TOKEN", "hf_env").tokenSource());
        assertEquals("hf_old", from("HUGGING_FACE_HUB_TOKEN", "hf_old").token());
        Files.createDirectories(home.resolve("hf"));
        Files.writeString(home.resolve("hf/token"), "hf_file\n");
        HubSettings fromFile = from("HF_HOME", home.resolve("hf").toString());
        assertEquals("hf_file", fromFile.token());
        assertTrue(fromFile.tokenSource().contains(home.resolve("hf/token").toString()), fromFile.tokenSource());
        assertEquals("hf_env", from("HF_HOME", home.resolve("hf").toString(), "HF_TOKEN", "hf_env").token(), "the variable wins");
        Files.writeString(home.resolve("elsewhere"), "hf_path");
        assertEquals("hf_path", from("HF_TOKEN_PATH", home.resolve("elsewhere").toString()).token());
        Files.writeString(home.resolve("blank"), " \n");
        assertNull(from("HF_TOKEN_PATH", home.resolve("blank").toString()).token());
    }

    @Test
    void theTokenIsNotShownByToString() {
        HubSettings s = from("HF_TOKEN", "hf_very_secret");
        assertFalse(s.toString().contains("hf_very_secret"), s.toString());
        assertTrue(s.toString().contains("from HF_TOKEN"), s.toString());
    }

    @Test
    void offlineTakesHuggingfaceHubsTrueValues() {
        for (String v : new String[]{"1", "ON", "yes", "True"}) assertTrue(from("HF_HUB_OFFLINE", v).offline(), v);
        for (String v : new String[]{"0", "off", "no", ""}) assertFalse(from("HF_HUB_OFFLINE", v).offline(), v);
        assertTrue(from("TRANSFORMERS_OFFLINE", "1").offline());
    }

    @Test
    void theEndpointLosesItsTrailingSlashAndMustBeHttp() {
        assertEquals(URI.create("http://127.0.0.1:8080/mirror"), from("HF_ENDPOINT", "http://127.0.0.1:8080/mirror//").endpoint());
        var e = assertThrows(IllegalArgumentException.class, () -> from("HF_ENDPOINT", "ftp://example.com"));
        assertTrue(e.getMessage().contains("HF_ENDPOINT"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> from("HF_ENDPOINT", "not a url"));
    }

    @Test
    void theDownloadTimeoutIsInSeconds() {
        assertEquals(Duration.ofMillis(2500), from("HF_HUB_DOWNLOAD_TIMEOUT", "2.5").timeout());
        var e = assertThrows(IllegalArgumentException.class, () -> from("HF_HUB_DOWNLOAD_TIMEOUT", "-1"));
        assertTrue(e.getMessage().contains("HF_HUB_DOWNLOAD_TIMEOUT"), e.getMessage());
    }
}
