package dev.i2vgen.cli;

import dev.i2vgen.io.tokenizer.ClipTokenizer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code i2vgen tokenize}: prints the 77 token ids the pipeline would feed the text encoder. */
@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Print the CLIP token ids of a prompt (padded to the model's length).")
public final class TokenizeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "checkpoint folder (default: built-in demo model)")
    Path model;

    @Parameters(paramLabel = "TEXT", arity = "1..*", description = "the prompt (several words are joined with spaces)")
    String[] text;

    @Override
    public Integer call() {
        Path root = model != null ? model : DemoModel.unpack().resolve("checkpoint");
        Path tokenizerDir = root.resolve("tokenizer");
        if (!Files.isDirectory(tokenizerDir)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--model " + root + " has no tokenizer/ folder");
        }
        ClipTokenizer tokenizer = ClipTokenizer.fromFolder(tokenizerDir);
        int[] ids = tokenizer.encode(String.join(" ", text)).inputIds();
        spec.commandLine().getOut().println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
        return 0;
    }
}
