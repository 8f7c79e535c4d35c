package dev.i2vgen.sampler.pipeline;

/**
 * A generation request the pipeline refuses before any work: a value out of range, a scheduler that cannot run it,
 * sizes the run cannot hold. A caller's input error, as opposed to a failure while running; an
 * {@link IllegalArgumentException} so that callers catching that keep working.
 */
public class InvalidRequestException extends IllegalArgumentException {
    public InvalidRequestException(String message) { super(message); }

    public InvalidRequestException(String message, Throwable cause) { super(message, cause); }
}
