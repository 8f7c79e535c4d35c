package dev.i2vgen.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code i2vgen batch} where the spark module is not on the class path (the CLI's own jar): says how to run it
 * instead, whatever the arguments.
 */
@Command(name = "batch", description = {"Generate one video per row of a job list on Apache Spark (needs the spark module",
        "and Spark: run it through ./i2vgen batch or spark-submit, see the README)."})
final class BatchUnavailableCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Unmatched
    List<String> arguments;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "i2vgen batch runs on Apache Spark, which is not on"
                + " this class path (examples/target/i2vgen.jar leaves it out): run './i2vgen batch ...', which adds"
                + " spark/target/i2vgen-spark.jar and Spark's jars, or 'spark-submit spark/target/i2vgen-spark.jar batch ...'"
                + " (README: Batch generation on Spark)");
    }
}
