package dev.i2vgen.io.checkpoint;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** A checkpoint folder that cannot be used; lists every problem found, each naming its file. */
public final class CheckpointException extends RuntimeException {
    private final List<CheckpointProblem> problems;

    public CheckpointException(Path file, String problem) {
        this(List.of(new CheckpointProblem(file, problem)));
    }

    public CheckpointException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.problems = List.of(new CheckpointProblem(file, problem));
    }

    public CheckpointException(List<CheckpointProblem> problems) {
        super(message(problems));
        this.problems = List.copyOf(problems);
    }

    public List<CheckpointProblem> problems() { return problems; }

    private static String message(List<CheckpointProblem> problems) {
        if (problems.size() == 1) return problems.get(0).toString();
        return problems.size() + " problems:\n" + problems.stream().map(p -> "  - " + p).collect(Collectors.joining("\n"));
    }
}
