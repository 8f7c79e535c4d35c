package dev.i2vgen.cli;

/**
 * A subcommand of {@code i2vgen} that lives in another module, found by {@link java.util.ServiceLoader} when that
 * module is on the class path ({@code META-INF/services/dev.i2vgen.cli.SubcommandProvider}): {@code batch} comes from
 * the spark module, whose jar is run with Spark's jars, and so stays out of the CLI's own jar.
 */
public interface SubcommandProvider {
    /** The subcommand's name on the command line. */
    String name();

    /** A new picocli command object (annotated with {@code @Command}). */
    Object command();
}
