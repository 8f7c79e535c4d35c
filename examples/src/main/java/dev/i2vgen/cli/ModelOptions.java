package dev.i2vgen.cli;

import dev.i2vgen.io.checkpoint.CheckpointException;
import dev.i2vgen.io.checkpoint.Variant;
import dev.i2vgen.io.hub.HubCheckpoint;
import dev.i2vgen.io.hub.HubException;
import dev.i2vgen.io.hub.HubSettings;
import dev.i2vgen.io.hub.LocalCheckpoint;
import dev.i2vgen.io.hub.ModelReference;
import dev.i2vgen.io.hub.ModelSource;
import dev.i2vgen.io.hub.RetryPolicy;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import dev.i2vgen.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code --model DIR|ORG/NAME} and {@code --revision REV}, a picocli mixin of {@code i2vgen generate} and
 * {@code i2vgen serve}: an existing path is a checkpoint folder, as it always was; {@code ORG/NAME} is a Hugging Face
 * Hub repository, read from the huggingface_hub cache and downloaded into it when missing ({@link ModelSource}; the
 * HF_* variables from the environment). In the order a command needs them: {@link #check} (the names, no request),
 * {@link #pipelineClass} ({@code model_index.json} alone, so that options are checked against the model before any
 * weights come), {@link #checkpointFolder} (the files a run of that precision loads, with a progress bar).
 */
public final class ModelOptions implements AutoCloseable {
    @Option(names = "--model", paramLabel = "DIR|ORG/NAME", description = {"diffusers checkpoint folder of I2VGen-XL or Stable Video Diffusion, or a",
            "Hugging Face Hub repository id (e.g. ali-vilab/i2vgen-xl), downloaded into the Hugging Face cache when missing",
            "(default: built-in tiny I2VGen-XL demo model)"})
    String model;

    @Option(names = "--revision", paramLabel = "REV", description = "with --model ORG/NAME: the branch, tag or commit hash (default: main)")
    String revision;

    private final Map<String, String> environment;
    private final RetryPolicy retries;
    private ModelSource source;
    private ModelReference reference;

    /** Hub settings from the process environment, huggingface_hub's retries. */
    public ModelOptions() { this(System.getenv(), RetryPolicy.defaults()); }

    /** Hub settings from {@code environment} (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, ...), retries by {@code retries}. */
    ModelOptions(Map<String, String> environment, RetryPolicy retries) {
        this.environment = environment;
        this.retries = retries;
    }

    /** Whether --model was given (else the built-in demo model runs). */
    public boolean given() { return model != null; }

    /** --model as typed, for messages ("--model org/svd is StableVideoDiffusionPipeline"); null without it. */
    public Path named() { return model == null ? null : Path.of(model); }

    /**
     * What --model and --revision name, checked without any request: a folder, or a repository id and a revision name;
     * otherwise an error naming the option, with the messages generate has always given for folders.
     */
    public void check(CommandLine cl) {
        if (model == null) {
            if (revision != null) fail(cl, "--revision needs --model ORG/NAME (a Hugging Face Hub repository)");
            return;
        }
        if (revision != null && existingPath(model)) {
            fail(cl, "--revision " + revision + " applies to a Hugging Face Hub repository id, but --model " + model + " is a local folder");
        }
        if (revision != null) {
            try {
                HubCheckpoint.checkRevision(revision);
            } catch (HubException e) {
                fail(cl, "--revision: " + e.getMessage());
            }
        }
        try {
            reference = source(cl).locate(model, revision);
        } catch (HubException e) {
            fail(cl, "--model " + model + " is not a folder (expected a diffusers checkpoint folder with model_index.json) nor a Hugging Face"
                    + " Hub repository id ORG/NAME" + (e.getCause() != null ? ": " + e.getCause().getMessage() : ""));
        }
        if (reference instanceof LocalCheckpoint local && !Files.isDirectory(local.dir())) {
            fail(cl, "--model " + model + " is not a folder (expected a diffusers checkpoint folder with model_index.json)");
        }
    }

    /** The pipeline class {@code model_index.json} names; of a Hub repository only that file is fetched. */
    public String pipelineClass(CommandLine cl) {
        Path index;
        try (DownloadProgress progress = new DownloadProgress(cl.getErr())) {
            index = located(cl).modelIndex(progress);
        }
        try {
            return VideoPipelines.pipelineClass(index.getParent());
        } catch (CheckpointException e) {
            throw new CommandLine.ParameterException(cl, "--model: " + e.getMessage());
        }
    }

    /**
     * The checkpoint folder to load: the folder itself, or the Hub repository's cache snapshot holding every file a run
     * computing in {@code dtype} loads, what it lacked downloaded first (a progress bar on {@code cl}'s error stream).
     * A repository lacking what the pipeline needs is refused before its weights are fetched.
     */
    public Path checkpointFolder(DType dtype, CommandLine cl) {
        ModelReference ref = located(cl);
        if (ref instanceof LocalCheckpoint local) return local.dir();
        Path dir;
        try (DownloadProgress progress = new DownloadProgress(cl.getErr())) {
            dir = ref.checkpoint(Variant.forComputeType(dtype), progress);
        } catch (CheckpointException e) {
            // one problem on the error's line; several one per line below it
            throw new CliErrors.BadInputException("--model " + ref.describe() + " cannot be used: " + e.getMessage(), e);
        }
        cl.getErr().println("Model " + ref.describe() + " from the Hugging Face cache: " + dir);
        cl.getErr().flush();
        return dir;
    }

    /** Releases the Hub connection (the resolved folder stays usable). */
    @Override
    public void close() {
        if (source != null) source.close();
        source = null;
    }

    private ModelReference located(CommandLine cl) {
        if (reference == null) check(cl);
        return reference;
    }

    /** The model source, its settings from the environment (a bad HF_ENDPOINT, timeout or token file is named). */
    private ModelSource source(CommandLine cl) {
        if (source == null) {
            try {
                source = ModelSource.of(HubSettings.fromEnvironment(environment), retries);
            } catch (IllegalArgumentException e) {
                fail(cl, e.getMessage());
            }
        }
        return source;
    }

    private static boolean existingPath(String text) {
        try {
            return Files.exists(Path.of(text));
        } catch (InvalidPathException e) {
            return false;
        }
    }

    private static void fail(CommandLine cl, String message) { throw new CommandLine.ParameterException(cl, message); }
}
