package dev.i2vgen.cli;

import dev.i2vgen.io.checkpoint.CheckpointException;
import dev.i2vgen.io.hub.HubException;
import dev.i2vgen.io.image.UnreadableImageException;
import dev.i2vgen.io.safetensors.SafetensorsFormatException;
import dev.i2vgen.io.tokenizer.TokenizerFormatException;
import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.sampler.pipeline.InvalidRequestException;
import dev.i2vgen.sampler.pipeline.MismatchedComponentsException;
import dev.i2vgen.sampler.pipeline.RequestLimitException;
import dev.i2vgen.tensor.MemoryExhaustedException;
import picocli.CommandLine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns failures into one clear line ("error: ...") instead of a stack trace, and into the exit code of their kind
 * ({@link #EXIT_CODES}); the message of our exceptions already names the file, tensor or parameter. JVM errors
 * (out of memory, a fault reading a mapped file) reach it too: {@link #catchingErrors} hands them over as the cause
 * of an {@link CommandLine.ExecutionException}, since picocli passes only Exceptions to this handler.
 * Set I2VGEN_DEBUG=1 to see the trace.
 */
public final class CliErrors implements CommandLine.IExecutionExceptionHandler {
    static final int FAILURE = 1;
    static final int USAGE = 2;

    /** One meaning per code, shown by every command's --help. 130 and 143 are the JVM's own exit on those signals. */
    static final Map<String, String> EXIT_CODES = exitCodes();

    /**
     * The kinds of bad input: whichever path finds one (option validation, the checkpoint check, the pipeline's own
     * checks at its start, a file read later), the exit code is {@link #USAGE}.
     */
    private static final List<Class<? extends Throwable>> BAD_INPUT = List.of(CommandLine.ParameterException.class,
            BadInputException.class, CheckpointException.class, SafetensorsFormatException.class, TokenizerFormatException.class,
            UnreadableImageException.class, ConfigProblem.class, Weights.MissingWeightException.class, Weights.WeightMismatchException.class,
            MismatchedComponentsException.class, InvalidRequestException.class);

    /** Option names of the pipeline's size parameters, for its size refusals. */
    private static final Map<String, String> OPTIONS = Map.of("height", "--height", "width", "--width", "num_frames", "--frames");

    @Override
    public int handleExecutionException(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        Throwable failure = e instanceof CommandLine.ExecutionException && e.getCause() instanceof Error error ? error : e;
        if (System.getenv("I2VGEN_DEBUG") != null) failure.printStackTrace(cl.getErr());
        cl.getErr().println("error: " + message(failure));
        return exitCode(failure);
    }

    /**
     * A parse or validation error: one line naming the option, where picocli would print the whole usage after it;
     * an unknown option gets picocli's suggestions and a pointer to --help instead.
     */
    static int handleParseException(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        cl.getErr().println("error: " + parseErrorMessage(e, "'" + cl.getCommandSpec().qualifiedName() + " --help' lists the options"));
        return USAGE;
    }

    /** A parse error's message; an unknown option's with picocli's suggestions and {@code whereListed} in brackets. */
    public static String parseErrorMessage(CommandLine.ParameterException e, String whereListed) {
        if (!(e instanceof CommandLine.UnmatchedArgumentException u)) return e.getMessage();
        return e.getMessage() + (u.getSuggestions().isEmpty() ? "" : "; did you mean " + String.join(" or ", u.getSuggestions()) + "?")
                + " (" + whereListed + ")";
    }

    /** Whether the failure (or one of its causes) is bad input: an option, the image, the checkpoint (not a failure while running). */
    public static boolean isBadInput(Throwable failure) { return exitCode(failure) == USAGE; }

    /**
     * {@link #USAGE} when the failure (or one of its causes) is bad input, else {@link #FAILURE}. A Hub failure is bad
     * input when the request is at fault (a repository that is missing, gated, or not cached offline), a failure while
     * running when the network, the server or the disk failed.
     */
    static int exitCode(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof HubException hub) return hub.reason().badInput() ? USAGE : FAILURE;
            for (Class<? extends Throwable> kind : BAD_INPUT) if (kind.isInstance(t)) return USAGE;
            if (t.getCause() == t) break;
        }
        return FAILURE;
    }

    /** The one line that explains the failure, with what to try where we know it. */
    public static String message(Throwable failure) {
        return switch (failure) {
            case RequestLimitException limit -> limit.message(name -> OPTIONS.getOrDefault(name, name));
            case MemoryExhaustedException oom -> oom.getMessage() + ": " + whatToTry(oom.memory());
            case OutOfMemoryError oom -> "out of host memory (" + oom.getMessage() + "; max heap "
                    + MemoryExhaustedException.bytes(Runtime.getRuntime().maxMemory()) + "): " + whatToTry(MemoryExhaustedException.Memory.HOST);
            case Error error -> "internal error: " + error;   // a JVM error we have no better words for
            default -> failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
        };
    }

    private static String whatToTry(MemoryExhaustedException.Memory memory) {
        return "try --decode-chunk 1 (fewer frames per VAE call), a smaller --height/--width or fewer --frames, or --dtype fp16"
                + (memory == MemoryExhaustedException.Memory.HOST ? "; or give Java more memory (I2VGEN_JAVA_OPTS=-Xmx<size>)" : "");
    }

    /**
     * The execution strategy of {@code i2vgen}: picocli's, with an {@link Error} escaping a command wrapped so that it
     * reaches this handler instead of the JVM's stack trace.
     */
    static CommandLine.IExecutionStrategy catchingErrors(CommandLine.IExecutionStrategy strategy) {
        return parsed -> {
            try {
                return strategy.execute(parsed);
            } catch (Error e) {
                CommandLine last = parsed.asCommandLineList().getLast();
                throw new CommandLine.ExecutionException(last, "Error while running " + last.getCommandName(), e);
            }
        };
    }

    private static Map<String, String> exitCodes() {
        Map<String, String> codes = new LinkedHashMap<>();
        codes.put("0", "success");
        codes.put("1", "failure while running (out of memory, a device, network or I/O error)");
        codes.put("2", "bad input: an option, the image, the output path or the checkpoint (config, tokenizer, weights; a Hub"
                + " repository that is missing, gated or not cached offline), whenever it is found");
        codes.put("130", "interrupted (SIGINT, Ctrl-C)");
        codes.put("143", "terminated (SIGTERM)");
        return codes;
    }

    /** Invalid user input detected after parsing (a broken checkpoint, an unreadable image, ...). */
    public static final class BadInputException extends RuntimeException {
        public BadInputException(String message) { super(message); }

        public BadInputException(String message, Throwable cause) { super(message, cause); }
    }
}
