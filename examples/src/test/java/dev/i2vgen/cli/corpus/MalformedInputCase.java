package dev.i2vgen.cli.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One case of the malformed-input corpus ({@code malformed-inputs/corpus.json} in the test resources): what to break,
 * how to run {@code i2vgen generate} on it, and what it must answer.
 *
 * @param id          unique, names the case in the test report
 * @param kind        the failure class of issue #14 it covers (one of {@link #KINDS})
 * @param checkpoint  the bundled checkpoint it starts from: {@code tiny} or {@code svd-tiny}
 * @param mutations   applied in order to a fresh copy of the checkpoint and inputs ({@link CorpusMutations})
 * @param options     the command line's options over the base ones: a string value (placeholders allowed), true for
 *                    a flag, null to drop a base option, or {@code {"repeat": s, "times": n}}
 * @param exit        the expected exit code
 * @param culprit     texts (placeholders allowed) that the one error line must all contain: the file, key, tensor or
 *                    option at fault
 * @param problems    the number of problems the error lists (1: one line; more only for a checkpoint with several
 *                    problems, printed one line per problem)
 */
record MalformedInputCase(String id, String kind, String checkpoint, List<JsonNode> mutations, Map<String, JsonNode> options,
                          int exit, List<String> culprit, int problems) {
    /** The failure classes of issue #14's "Must fix" list. */
    static final Set<String> KINDS = Set.of("jvm-errors", "limits", "config", "non-finite", "interrupted-writes",
            "messages", "silent-nonsense", "exit-codes", "smaller");
    static final String RESOURCE = "malformed-inputs/corpus.json";

    MalformedInputCase {
        if (!KINDS.contains(kind)) throw new IllegalArgumentException(id + ": unknown class '" + kind + "', expected one of " + KINDS);
        if (!checkpoint.equals("tiny") && !checkpoint.equals("svd-tiny")) throw new IllegalArgumentException(id + ": checkpoint " + checkpoint);
        if (culprit.isEmpty()) throw new IllegalArgumentException(id + ": a case names its culprit");
        if (exit != 1 && exit != 2) throw new IllegalArgumentException(id + ": exit " + exit + " is not a failure code of the CLI");
    }

    /** Whether the case changes the checkpoint (else it shares one unchanged copy with the other such cases). */
    boolean mutatesCheckpoint() {
        return mutations.stream().anyMatch(m -> m.path("file").asText().startsWith("{checkpoint}"));
    }

    @Override
    public String toString() { return id; }

    /** The corpus file, parsed and checked (unique ids). */
    static Corpus load() {
        try (InputStream in = MalformedInputCase.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException(RESOURCE + " is missing from the test resources");
            JsonNode root = new ObjectMapper().readTree(in);
            Set<String> described = new java.util.HashSet<>();
            root.path("classes").fieldNames().forEachRemaining(described::add);
            if (!described.equals(KINDS)) throw new IllegalStateException(RESOURCE + ": 'classes' should describe " + KINDS + ", has " + described);
            List<MalformedInputCase> cases = new ArrayList<>();
            for (JsonNode c : root.withArray("cases")) cases.add(parse(c));
            if (cases.stream().map(MalformedInputCase::id).distinct().count() != cases.size()) {
                throw new IllegalStateException(RESOURCE + ": case ids must be unique");
            }
            List<String> coveredElsewhere = new ArrayList<>();
            for (JsonNode c : root.withArray("coveredElsewhere")) coveredElsewhere.add(c.path("class").asText());
            return new Corpus(List.copyOf(cases), List.copyOf(coveredElsewhere));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The cases, and the classes whose cases need a real process and live in dedicated tests (listed with them). */
    record Corpus(List<MalformedInputCase> cases, List<String> coveredElsewhere) {}

    private static MalformedInputCase parse(JsonNode c) {
        String id = c.path("id").asText();
        List<JsonNode> mutations = new ArrayList<>();
        c.path("mutations").forEach(mutations::add);
        Map<String, JsonNode> options = new LinkedHashMap<>();
        c.path("options").properties().forEach(o -> options.put(o.getKey(), o.getValue()));
        List<String> culprit = new ArrayList<>();
        JsonNode cu = c.path("culprit");
        if (cu.isArray()) cu.forEach(x -> culprit.add(x.asText()));
        else if (cu.isTextual()) culprit.add(cu.asText());
        for (String field : List.of("id", "class", "exit")) {
            if (!c.has(field)) throw new IllegalArgumentException(RESOURCE + ": case " + c + " lacks '" + field + "'");
        }
        return new MalformedInputCase(id, c.path("class").asText(), c.path("checkpoint").asText("tiny"), List.copyOf(mutations),
                options, c.path("exit").asInt(), List.copyOf(culprit), c.path("problems").asInt(1));
    }
}
