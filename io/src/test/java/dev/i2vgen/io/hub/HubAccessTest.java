package dev.i2vgen.io.hub;

import dev.i2vgen.io.checkpoint.Variant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Private, gated and missing repositories, revisions and files: the Hub's 401/403/404 as messages that say what to do. */
class HubAccessTest {
    @TempDir
    Path home;

    private FakeHub hub;

    @BeforeEach
    void startHub() { hub = FakeHub.start(); }

    @AfterEach
    void stopHub() { hub.close(); }

    private Path resolve(String model, String revision, Map<String, String> extraEnv) {
        Map<String, String> env = HubFixtures.environment(hub, home);
        env.putAll(extraEnv);
        try (ModelSource source = ModelSource.of(HubSettings.fromEnvironment(env, home), HubFixtures.FAST_RETRIES)) {
            return source.resolve(model, revision, Variant.NONE, DownloadListener.NONE);
        }
    }

    private HubException refused(String model, String revision, Map<String, String> env, HubException.Reason reason) {
        HubException e = assertThrows(HubException.class, () -> resolve(model, revision, env));
        assertEquals(reason, e.reason(), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
        return e;
    }

    @Test
    void aPrivateRepositoryWithoutTokenIsNotFoundAndTheMessageSaysHowToGetAccess() {
        hub.repo("org/private").files(HubFixtures.tiny()).privateWithToken("hf_secret");
        HubException e = refused("org/private", null, Map.of(), HubException.Reason.REPOSITORY_NOT_FOUND);
        String m = e.getMessage();
        assertTrue(m.contains("repository org/private was not found") && m.contains("HTTP 401"), m);
        assertTrue(m.contains("HF_TOKEN") && m.contains(hub.endpoint() + "/settings/tokens") && m.contains("hf auth login"), m);
        assertTrue(m.contains("accept its terms on " + hub.endpoint() + "/org/private"), m);
        assertTrue(m.contains("no local folder 'org/private' exists either"), m);

        Path snapshot = resolve("org/private", null, Map.of("HF_TOKEN", "hf_secret"));
        assertTrue(Files.exists(snapshot.resolve("model_index.json")));
        assertTrue(hub.requests(r -> r.server().equals("hub")).stream().allMatch(r -> r.authorization() == null || r.authorization().equals("Bearer hf_secret")));
    }

    @Test
    void theTokenFileHuggingfaceHubStoresIsUsed() throws Exception {
        hub.repo("org/private").files(HubFixtures.tiny()).privateWithToken("hf_from_file");
        Files.createDirectories(home.resolve("hf-home"));
        Files.writeString(home.resolve("hf-home/token"), "hf_from_file\n");
        assertTrue(Files.exists(resolve("org/private", null, Map.of()).resolve("unet/config.json")));
    }

    @Test
    void aRefusedTokenIsNamedWithWhereItCameFrom() {
        hub.repo("org/private").files(HubFixtures.tiny()).privateWithToken("hf_secret");
        HubException e = refused("org/private", null, Map.of("HF_TOKEN", "hf_invalid"), HubException.Reason.INVALID_TOKEN);
        assertTrue(e.getMessage().contains("refused the token from HF_TOKEN as invalid") && e.getMessage().contains("/settings/tokens"), e.getMessage());
    }

    @Test
    void aGatedRepositorySaysToAcceptItsTerms() {
        hub.repo("org/gated").files(HubFixtures.tiny()).gatedFor("hf_accepted");
        HubException anonymous = refused("org/gated", null, Map.of(), HubException.Reason.ACCESS_DENIED);
        assertTrue(anonymous.getMessage().contains("org/gated is a gated model and no token was sent")
                && anonymous.getMessage().contains("accept its terms") && anonymous.getMessage().contains("HF_TOKEN"), anonymous.getMessage());

        HubException other = refused("org/gated", null, Map.of("HF_TOKEN", "hf_other"), HubException.Reason.ACCESS_DENIED);
        assertTrue(other.getMessage().contains("the token from HF_TOKEN has no access to it") && other.getMessage().contains("HTTP 403"), other.getMessage());

        assertTrue(Files.exists(resolve("org/gated", null, Map.of("HF_TOKEN", "hf_accepted")).resolve("vae/config.json")));
    }

    @Test
    void missingRevisionsAndFilesAreNamed() {
        hub.repo("org/tiny").files(HubFixtures.tiny());
        HubException revision = refused("org/tiny", "v9", Map.of(), HubException.Reason.REVISION_NOT_FOUND);
        assertTrue(revision.getMessage().contains("org/tiny has no revision 'v9'"), revision.getMessage());

        refused("org/nothing-here", null, Map.of(), HubException.Reason.REPOSITORY_NOT_FOUND);

        hub.failNext("/org/tiny/resolve/", 404);   // listed, but the resolve route says EntryNotFound-less 404
        HubException file = refused("org/tiny", null, Map.of(), HubException.Reason.FILE_NOT_FOUND);
        assertTrue(file.getMessage().contains("has no file 'model_index.json'"), file.getMessage());
    }

    /** LFS files redirect to the CDN, another origin: the token goes to the Hub only, never to the CDN. */
    @Test
    void theTokenIsNotSentToTheCdn() {
        hub.repo("org/private").files(HubFixtures.tiny()).privateWithToken("hf_secret");
        resolve("org/private", null, Map.of("HF_TOKEN", "hf_secret"));
        var cdn = hub.requests(r -> r.server().equals("cdn"));
        assertTrue(cdn.size() >= 4, cdn.toString());
        for (FakeHub.Request r : cdn) assertNull(r.authorization(), r.toString());
        assertTrue(hub.requests(r -> r.server().equals("hub")).stream().allMatch(r -> "Bearer hf_secret".equals(r.authorization())));
    }

    /** A renamed repository: the Hub redirects its routes (relative Location) and the old name keeps working. */
    @Test
    void aRenamedRepositoryIsFollowed() {
        hub.repo("org/new-name").files(HubFixtures.tiny());
        hub.rename("org/old-name", "org/new-name");
        Path snapshot = resolve("org/old-name", null, Map.of());
        assertTrue(snapshot.startsWith(home.resolve("hub-cache/models--org--old-name")), "cached under the name asked for: " + snapshot);
        assertTrue(Files.exists(snapshot.resolve("unet/diffusion_pytorch_model.safetensors")));
        assertTrue(hub.requests().stream().anyMatch(r -> r.path().startsWith("/org/new-name/resolve/")), "the redirect was followed");
    }

    @Test
    void namesThatAreNeitherFoldersNorRepositoriesAreRefusedWithoutARequest() {
        for (String name : new String[]{"no-such-folder", "a/b/c", "org/-bad", "org/na--me", "org/name.git", ""}) {
            HubException e = assertThrows(HubException.class, () -> resolve(name, null, Map.of()), name);
            assertEquals(HubException.Reason.INVALID_NAME, e.reason(), name);
        }
        HubException badRevision = assertThrows(HubException.class, () -> resolve("org/tiny", "../../x", Map.of()));
        assertEquals(HubException.Reason.INVALID_NAME, badRevision.reason());
        assertEquals(0, hub.requests().size());
    }
}
