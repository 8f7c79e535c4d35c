package dev.i2vgen.cli;

import dev.i2vgen.io.hub.FakeHub;
import dev.i2vgen.io.hub.HubFixtures;
import dev.i2vgen.io.reference.ReferenceCase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code i2vgen generate --model ORG/NAME} against a Hub on 127.0.0.1: download, run, and run again offline from the cache. */
class HubModelCommandTest {
    @TempDir
    Path home;

    private FakeHub hub;
    private Path image;

    @BeforeEach
    void start() {
        hub = FakeHub.start();
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) { image = ref.inputImage(); }
    }

    @AfterEach
    void stop() { hub.close(); }

    private CommandLineTest.Result run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = I2VGenCommand.commandLine(env, HubFixtures.FAST_RETRIES);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new CommandLineTest.Result(code, out.toString(), err.toString());
    }

    private List<String> tinyRun(String model, Path output, String... more) {
        List<String> args = new ArrayList<>(List.of("generate", "--model", model, "--image", image.toString(), "--prompt", "a cat",
                "--height", "32", "--width", "48", "--frames", "2", "--steps", "2", "--output", output.toString()));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void aModelByNameIsDownloadedForItsPrecisionThenRunsOfflineFromTheCache() throws Exception {
        FakeHub.Repo repo = hub.repo("org/tiny").files(HubFixtures.tinyBothPrecisions());
        Map<String, String> env = HubFixtures.environment(hub, home);
        Path first = home.resolve("first.gif");
        CommandLineTest.Result r = run(env, tinyRun("org/tiny", first, "--dtype", "fp16").toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.size(first) > 0);
        assertTrue(r.err().contains("Downloading") && r.err().contains("org/tiny"), r.err());

        Path snapshot = home.resolve("hub-cache/models--org--tiny/snapshots").resolve(repo.commit());
        Set<String> expected = repo.fileMap().keySet().stream()
                .filter(p -> !p.endsWith(".safetensors") || p.endsWith(".fp16.safetensors")).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(expected, files(snapshot), "exactly the files an fp16 run loads");
        assertEquals(repo.commit(), Files.readString(home.resolve("hub-cache/models--org--tiny/refs/main")));

        hub.close();   // the second run must not need the Hub
        Map<String, String> offline = new HashMap<>(env);
        offline.put("HF_HUB_OFFLINE", "1");
        Path second = home.resolve("second.gif");
        r = run(offline, tinyRun("org/tiny", second, "--dtype", "fp16").toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("Downloading"), r.err());
        assertTrue(Files.size(second) > 0);
    }

    /** Options are checked against model_index.json before the weights are fetched. */
    @Test
    void anOptionOfTheOtherModelIsRefusedBeforeTheWeightsAreDownloaded() {
        try (ReferenceCase svd = ReferenceCase.bundled("svd-tiny")) {
            hub.repo("org/svd").folder(svd.checkpoint());
        }
        CommandLineTest.Result r = run(HubFixtures.environment(hub, home), tinyRun("org/svd", home.resolve("o.gif")).toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--prompt is not an option of StableVideoDiffusionPipeline")
                && r.err().contains("--model org/svd is StableVideoDiffusionPipeline"), r.err());
        assertEquals(0, hub.requests(q -> q.server().equals("cdn")).size(), "no weights were downloaded");
        assertTrue(Files.exists(home.resolve("hub-cache/models--org--svd")), "model_index.json was");
    }

    @Test
    void hubFailuresAreOneLineWithTheExitCodeOfTheirKind() {
        hub.repo("org/private").files(HubFixtures.tiny()).privateWithToken("hf_secret");
        Map<String, String> env = HubFixtures.environment(hub, home);
        CommandLineTest.Result r = run(env, tinyRun("org/private", home.resolve("o.gif")).toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("error: repository org/private was not found") && r.err().contains("HF_TOKEN"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());

        Map<String, String> offline = new HashMap<>(env);
        offline.put("HF_HUB_OFFLINE", "1");
        r = run(offline, tinyRun("org/tiny", home.resolve("o.gif")).toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("not in the Hugging Face cache") && r.err().contains("HF_HUB_OFFLINE"), r.err());

        hub.close();
        Map<String, String> unreachable = new HashMap<>(env);
        unreachable.put("HF_HUB_CACHE", home.resolve("empty-cache").toString());
        r = run(unreachable, tinyRun("org/tiny", home.resolve("o.gif")).toArray(String[]::new));
        assertEquals(1, r.code(), "a network failure is a failure while running: " + r.err());
        assertTrue(r.err().contains("cannot reach " + hub.endpoint()), r.err());
        assertFalse(Files.exists(home.resolve("o.gif")));
    }

    /** i2vgen serve takes the same --model ORG/NAME (the same options mixin): here a private one, refused before the server starts. */
    @Test
    void serveResolvesModelsByNameToo() {
        hub.repo("org/private").files(HubFixtures.tiny()).privateWithToken("hf_secret");
        CommandLineTest.Result r = run(HubFixtures.environment(hub, home), "serve", "--model", "org/private", "--port", "0",
                "--output-dir", home.resolve("videos").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("error: repository org/private was not found"), r.err());
        assertTrue(hub.requests().stream().anyMatch(q -> q.path().startsWith("/api/models/org/private/revision/main")), hub.requests().toString());
    }

    @Test
    void modelNamesAndRevisionsAreCheckedFirst() throws Exception {
        Map<String, String> env = HubFixtures.environment(hub, home);
        CommandLineTest.Result r = run(env, tinyRun("not-a-folder", home.resolve("o.gif")).toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--model not-a-folder is not a folder (expected a diffusers checkpoint folder with model_index.json)"
                + " nor a Hugging Face Hub repository id ORG/NAME"), r.err());

        Path local = Files.createDirectories(home.resolve("local"));
        r = run(env, tinyRun(local.toString(), home.resolve("o.gif"), "--revision", "main").toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--revision main applies to a Hugging Face Hub repository id"), r.err());

        r = run(env, tinyRun("org/tiny", home.resolve("o.gif"), "--revision", "../../etc").toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--revision: revision '../../etc' is not a branch, tag or commit name"), r.err());

        r = run(env, "generate", "--revision", "v1", "--output", home.resolve("o.gif").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--revision needs --model ORG/NAME"), r.err());

        Map<String, String> badEndpoint = new HashMap<>(env);
        badEndpoint.put("HF_ENDPOINT", "ftp://mirror");
        r = run(badEndpoint, tinyRun("org/tiny", home.resolve("o.gif")).toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("HF_ENDPOINT must be an http(s) URL"), r.err());
        assertEquals(0, hub.requests().size());
    }

    private static Set<String> files(Path snapshot) throws Exception {
        try (Stream<Path> s = Files.walk(snapshot)) {
            return s.filter(Files::isRegularFile).map(p -> snapshot.relativize(p).toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
