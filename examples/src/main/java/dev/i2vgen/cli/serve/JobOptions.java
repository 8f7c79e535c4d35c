package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.GenerationOptions;
import picocli.CommandLine;

/** The options of one job: {@code i2vgen generate}'s video options, parsed by picocli with the same definitions. */
@CommandLine.Command(name = "job")
final class JobOptions {
    @CommandLine.Mixin
    GenerationOptions options = new GenerationOptions();
}
