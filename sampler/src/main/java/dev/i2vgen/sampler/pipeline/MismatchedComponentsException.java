package dev.i2vgen.sampler.pipeline;

/**
 * A pipeline's components that do not belong together (a tokenizer whose ids or length the text encoder cannot take):
 * a fault of the checkpoint, not of the request or the run. The one-line message names the file at fault.
 */
public final class MismatchedComponentsException extends IllegalArgumentException {
    public MismatchedComponentsException(String message) { super(message); }
}
