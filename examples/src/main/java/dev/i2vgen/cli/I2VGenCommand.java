package dev.i2vgen.cli;

import dev.i2vgen.cli.serve.ServeCommand;
import dev.i2vgen.io.hub.RetryPolicy;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.Map;
import java.util.ServiceLoader;

/** Entry point: {@code i2vgen generate|serve|tokenize|bench ...}. */
@Command(name = "i2vgen", mixinStandardHelpOptions = true, version = "i2vgen 0.1.0",
        description = "Image + text to video with I2VGen-XL, in pure Java.",
        subcommands = {GenerateCommand.class, ServeCommand.class, TokenizeCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class I2VGenCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (generate, serve, tokenize, bench)");
    }

    public static void main(String[] args) {
        RunTimings.markProcessEntry();
        System.exit(commandLine().execute(args));
    }

    /**
     * The configured command line (also used by tests): every failure, JVM errors included, one line and an exit code
     * of its kind, and those codes listed in every command's --help.
     */
    public static CommandLine commandLine() { return commandLine(System.getenv(), RetryPolicy.defaults()); }

    /**
     * The command line whose {@code --model ORG/NAME} reads the Hub settings (HF_HOME, HF_ENDPOINT, HF_TOKEN,
     * HF_HUB_OFFLINE, ...) from {@code environment} and retries Hub requests by {@code retries} (tests: their own Hub and
     * cache, fast retries).
     */
    static CommandLine commandLine(Map<String, String> environment, RetryPolicy retries) {
        CommandLine.IFactory factory = new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> type) throws Exception {
                if (type == ModelOptions.class) return type.cast(new ModelOptions(environment, retries));
                return CommandLine.defaultFactory().create(type);
            }
        };
        CommandLine cl = new CommandLine(new I2VGenCommand(), factory);
        addProvidedSubcommands(cl);
        cl.setExecutionExceptionHandler(new CliErrors());
        cl.setParameterExceptionHandler(CliErrors::handleParseException);
        cl.setExecutionStrategy(CliErrors.catchingErrors(cl.getExecutionStrategy()));
        documentExitCodes(cl);
        return cl;
    }

    /**
     * Subcommands of other modules on the class path ({@link SubcommandProvider}); without the spark module,
     * {@code batch} says how to run it.
     */
    private static void addProvidedSubcommands(CommandLine cl) {
        for (SubcommandProvider provider : ServiceLoader.load(SubcommandProvider.class)) {
            cl.addSubcommand(provider.name(), provider.command());
        }
        if (!cl.getSubcommands().containsKey("batch")) cl.addSubcommand("batch", new BatchUnavailableCommand());
    }

    private static void documentExitCodes(CommandLine cl) {
        cl.getCommandSpec().usageMessage().exitCodeListHeading("%nExit codes:%n").exitCodeList(CliErrors.EXIT_CODES);
        cl.getSubcommands().values().forEach(I2VGenCommand::documentExitCodes);
    }
}
