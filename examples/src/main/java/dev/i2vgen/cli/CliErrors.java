package dev.i2vgen.cli;

import picocli.CommandLine;

/**
 * Turns failures into one clear line ("error: ...") instead of a stack trace; the message of our
 * exceptions already names the file, tensor or parameter. Set I2VGEN_DEBUG=1 to see the trace.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler {
    static final int USAGE = 2;
    static final int FAILURE = 1;

    @Override
    public int handleExecutionException(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        if (System.getenv("I2VGEN_DEBUG") != null) e.printStackTrace(cl.getErr());
        if (e instanceof CommandLine.ParameterException pe) {
            cl.getErr().println("error: " + pe.getMessage());
            return USAGE;
        }
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        cl.getErr().println("error: " + msg);
        return e instanceof BadInputException ? USAGE : FAILURE;
    }

    /** Invalid user input detected after parsing (a broken checkpoint, an unreadable image, ...). */
    static final class BadInputException extends RuntimeException {
        BadInputException(String message) { super(message); }

        BadInputException(String message, Throwable cause) { super(message, cause); }
    }
}
