package dev.i2vgen.cli;

import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.sampler.scheduler.Schedulers;
import picocli.CommandLine;

/** The {@code --scheduler NAME[:key=value,...]} option of generate and bench. */
final class SchedulerOptionParser {
    private SchedulerOptionParser() {}

    /**
     * The spec, or null when the option is absent; its class, option names and value types are checked here (the
     * combination with a checkpoint's config and the step count is checked before the run).
     *
     * @throws CommandLine.ParameterException naming the option and what is wrong
     */
    static SchedulerSpec parse(String text, CommandLine commandLine) {
        if (text == null) return null;
        try {
            SchedulerSpec s = SchedulerSpec.parse(text);
            Schedulers.check(s);
            return s;
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(commandLine, "--scheduler: " + e.getMessage()
                    + " (--scheduler list prints the schedulers and their options)");
        }
    }
}
