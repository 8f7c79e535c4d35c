package dev.i2vgen.cli.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import dev.i2vgen.cli.I2VGenCommand;
import dev.i2vgen.io.reference.ReferenceCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The malformed-input corpus ({@code malformed-inputs/corpus.json}): each case breaks a fresh copy of a bundled tiny
 * checkpoint, or the image, options or output of a run, the way issue #14 found them broken, runs
 * {@code i2vgen generate} in this process and checks its answer: the exit code of the failure's kind, exactly one
 * error line that names the culprit (a checkpoint with several problems: one line each), no stack trace anywhere,
 * and nothing left behind in the output folder (no output, no temporary).
 */
class MalformedInputCorpusTest {
    private static final MalformedInputCase.Corpus CORPUS = MalformedInputCase.load();
    /** {@code TemporaryOutputs}' names: {@code .<output name>.i2vgen-<16 hex>.tmp}. */
    private static final Pattern TEMPORARY = Pattern.compile("\\..+\\.i2vgen-[0-9a-f]{16}\\.tmp", Pattern.DOTALL);
    /** What a leaked stack trace or raw exception text looks like. */
    private static final List<String> STACK_TRACE = List.of("\tat ", "Exception in thread", "Caused by:");
    private static final Pattern EXCEPTION_CLASS = Pattern.compile("\\b(java|javax|sun|com|dev)\\.[\\w.]+(Exception|Error)\\b");
    /** Everything the run writes besides the progress bar stays short: no 100 kB prompt echoed, no dump. */
    private static final int MAX_MESSAGE_CHARS = 2000;

    /** The unchanged copies of the bundled checkpoints, shared by the cases that break only their inputs. */
    @TempDir static Path shared;
    private static final Map<String, Path> SHARED_CHECKPOINTS = new HashMap<>();

    /** The corpus, or the cases {@code -Di2vgen.corpus.cases=id,id} names (to run one while adding it). */
    static Stream<MalformedInputCase> cases() {
        String only = System.getProperty("i2vgen.corpus.cases", "");
        List<String> ids = only.isBlank() ? List.of() : List.of(only.split(","));
        for (String id : ids) {
            if (CORPUS.cases().stream().noneMatch(c -> c.id().equals(id))) throw new IllegalArgumentException("no corpus case " + id);
        }
        return CORPUS.cases().stream().filter(c -> ids.isEmpty() || ids.contains(c.id()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void answersWithOneLineNamingTheCulprit(MalformedInputCase c, @TempDir Path work) throws Exception {
        Path checkpoint = c.mutatesCheckpoint() ? copyOf(c.checkpoint(), work.resolve("checkpoint")) : sharedCheckpoint(c.checkpoint());
        Path image = work.resolve("input.png"), out = Files.createDirectory(work.resolve("out"));
        try (ReferenceCase ref = ReferenceCase.bundled(c.checkpoint())) { Files.copy(ref.inputImage(), image); }
        Map<String, String> placeholders = Map.of("{checkpoint}", checkpoint.toString(), "{image}", image.toString(),
                "{out}", out.toString(), "{work}", work.toString());
        for (JsonNode m : c.mutations()) {
            CorpusMutations.apply(m, p -> Path.of(expand(p, placeholders)));
            assumeTrue(CorpusMutations.takesEffect(m, p -> Path.of(expand(p, placeholders))),
                    "this process reads files whatever their permissions (root): " + m);
        }
        Map<String, Long> before = listing(out);

        Run run = Run.of(arguments(c, placeholders));
        String report = c.id() + " (" + c.kind() + "): " + run;

        assertEquals(c.exit(), run.code(), "exit code of " + report);
        List<String> errLines = run.err().lines().toList();
        List<Integer> errorLines = new ArrayList<>();
        for (int i = 0; i < errLines.size(); i++) if (errLines.get(i).startsWith("error: ")) errorLines.add(i);
        assertEquals(1, errorLines.size(), "one error line expected: " + report);
        int at = errorLines.getFirst();
        for (String line : errLines.subList(0, at)) assertTrue(line.startsWith("Device: "), "before the error: '" + line + "' of " + report);
        List<String> block = errLines.subList(at, errLines.size());
        if (c.problems() == 1) {
            assertEquals(1, block.size(), "the error is one line: " + report);
        } else {
            assertTrue(block.getFirst().endsWith(c.problems() + " problems:"), "lists " + c.problems() + " problems: " + report);
            assertEquals(c.problems() + 1, block.size(), "one line per problem: " + report);
            block.subList(1, block.size()).forEach(l -> assertTrue(l.startsWith("  - "), "a problem per line: " + report));
        }
        List<String> culprit = c.culprit().stream().map(s -> expand(s, placeholders)).toList();
        assertTrue(block.stream().anyMatch(l -> culprit.stream().allMatch(l::contains)), "a line naming " + culprit + ": " + report);
        for (String text : List.of(run.out(), run.err(), run.systemOut(), run.systemErr(), run.log())) {
            for (String marker : STACK_TRACE) assertFalse(text.contains(marker), "no stack trace: " + report);
        }
        assertFalse(EXCEPTION_CLASS.matcher(block.getFirst()).find(), "no exception class in the message: " + report);
        assertFalse(run.out().contains("Wrote"), report);
        assertTrue(run.err().length() + run.log().length() <= MAX_MESSAGE_CHARS, "messages stay short: " + report);

        assertEquals(before, listing(out), "the output folder is as it was: " + report);
        try (Stream<Path> all = Files.walk(work)) {
            all.forEach(p -> assertFalse(TEMPORARY.matcher(p.getFileName().toString()).matches(), "temporary left: " + p));
        }
    }

    /** Every failure class has cases here or, where it needs a real process, dedicated tests named in the corpus. */
    @Test
    void everyFailureClassIsCovered() {
        for (String kind : MalformedInputCase.KINDS) {
            assertTrue(CORPUS.cases().stream().anyMatch(c -> c.kind().equals(kind)) || CORPUS.coveredElsewhere().contains(kind),
                    "no case of class " + kind);
        }
    }

    /** The command line: the base options of the checkpoint's pipeline with the case's options over them. */
    private static String[] arguments(MalformedInputCase c, Map<String, String> placeholders) {
        Map<String, JsonNode> options = new LinkedHashMap<>();
        var json = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance;
        options.put("--model", json.textNode("{checkpoint}"));
        options.put("--image", json.textNode("{image}"));
        if (c.checkpoint().equals("tiny")) options.put("--prompt", json.textNode("a red fox jumps over a frozen lake"));
        // the demo's sizes: a case that runs the pipeline takes a few seconds
        options.put("--height", json.textNode("32"));
        options.put("--width", json.textNode("48"));
        options.put("--frames", json.textNode("4"));
        options.put("--steps", json.textNode("3"));
        options.put("--seed", json.textNode("1"));
        options.put("--output", json.textNode("{out}/video.mp4"));
        options.putAll(c.options());
        List<String> args = new ArrayList<>(List.of("generate"));
        options.forEach((name, value) -> {
            if (value.isNull()) return;
            args.add(name);
            if (value.isBoolean()) return;   // a flag
            args.add(value.isObject() ? value.path("repeat").asText().repeat(value.path("times").asInt())
                    : expand(value.asText(), placeholders));
        });
        return args.toArray(String[]::new);
    }

    private static String expand(String text, Map<String, String> placeholders) {
        for (var p : placeholders.entrySet()) text = text.replace(p.getKey(), p.getValue());
        return text;
    }

    private static synchronized Path sharedCheckpoint(String name) throws IOException {
        Path p = SHARED_CHECKPOINTS.get(name);
        if (p == null) SHARED_CHECKPOINTS.put(name, p = copyOf(name, shared.resolve(name)));
        return p;
    }

    private static Path copyOf(String bundled, Path to) throws IOException {
        Path src;
        try (ReferenceCase ref = ReferenceCase.bundled(bundled)) { src = ref.checkpoint(); }
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
        return to;
    }

    /** Every path under {@code dir} (links not followed) with its size, -1 for folders. */
    private static Map<String, Long> listing(Path dir) throws IOException {
        Map<String, Long> entries = new TreeMap<>();
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.toList()) {
                boolean folder = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
                entries.put(dir.relativize(p).toString(), folder ? -1 : Files.size(p));
            }
        }
        return entries;
    }

    /** One in-process run of the command line, with everything it wrote: its writers, System.out/err and log records. */
    record Run(int code, String out, String err, String systemOut, String systemErr, String log) {
        static synchronized Run of(String[] args) {
            StringWriter out = new StringWriter(), err = new StringWriter();
            CommandLine cl = I2VGenCommand.commandLine();
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            ByteArrayOutputStream systemOut = new ByteArrayOutputStream(), systemErr = new ByteArrayOutputStream();
            StringBuilder log = new StringBuilder();
            Handler records = new Handler() {
                @Override public void publish(LogRecord r) { log.append(r.getLevel()).append(": ").append(r.getMessage()).append('\n'); }
                @Override public void flush() { }
                @Override public void close() { }
            };
            PrintStream realOut = System.out, realErr = System.err;
            Logger root = Logger.getLogger("");
            root.addHandler(records);
            System.setOut(new PrintStream(systemOut, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(systemErr, true, StandardCharsets.UTF_8));
            int code;
            try {
                code = cl.execute(args);
            } finally {
                System.setOut(realOut);
                System.setErr(realErr);
                root.removeHandler(records);
            }
            return new Run(code, out.toString(), err.toString(), systemOut.toString(StandardCharsets.UTF_8),
                    systemErr.toString(StandardCharsets.UTF_8), log.toString());
        }

        @Override
        public String toString() {
            return "exit " + code + ", stderr:\n" + shortened(err) + (out.isEmpty() ? "" : "stdout:\n" + shortened(out))
                    + (log.isEmpty() ? "" : "log:\n" + shortened(log));
        }

        private static String shortened(String text) {
            return text.length() <= 4 * MAX_MESSAGE_CHARS ? text : text.substring(0, 4 * MAX_MESSAGE_CHARS) + " … (" + text.length() + " chars)\n";
        }
    }
}
