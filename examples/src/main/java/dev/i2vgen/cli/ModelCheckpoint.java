package dev.i2vgen.cli;

import dev.i2vgen.io.checkpoint.CheckpointException;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.model.svd.SpatioTemporalUNetConfig;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import dev.i2vgen.sampler.pipeline.VideoRequest;
import dev.i2vgen.sampler.scheduler.CheckpointScheduler;
import dev.i2vgen.sampler.scheduler.Scheduler;
import dev.i2vgen.tensor.DType;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A checkpoint folder checked whole (every config and safetensors header) before anything is loaded, or the built-in
 * demo model, and the checks a run makes against it before any weights are read: its scheduler and its sizes. Both
 * {@code i2vgen generate} and {@code i2vgen serve} go through it, then {@link #load} the pipeline (once, for a server).
 */
public final class ModelCheckpoint {
    private final Path dir;
    private final Path demoImage;
    private final CheckpointFolder folder;

    private ModelCheckpoint(Path dir, Path demoImage, CheckpointFolder folder) {
        this.dir = dir;
        this.demoImage = demoImage;
        this.folder = folder;
    }

    /**
     * Validates {@code model} ({@code null}: unpacks the built-in demo).
     *
     * @throws CliErrors.BadInputException naming the file and the problem
     */
    public static ModelCheckpoint open(Path model) {
        Path demo = model == null ? DemoModel.unpack() : null;
        Path dir = model == null ? demo.resolve("checkpoint") : model;
        try {
            return new ModelCheckpoint(dir, demo == null ? null : demo.resolve("input.png"), CheckpointFolder.open(dir).validate());
        } catch (CheckpointException e) {
            // one problem on the error's line; several one per line below it
            throw new CliErrors.BadInputException("the checkpoint folder is not usable: " + e.getMessage(), e);
        }
    }

    /**
     * {@code model} ({@code null}: the built-in demo) whose pipeline the caller has already built from it, and so
     * checked: not validated again (a caller running many videos on one pipeline asks for each).
     */
    static ModelCheckpoint ofLoaded(Path model) {
        Path demo = model == null ? DemoModel.unpack() : null;
        Path dir = model == null ? demo.resolve("checkpoint") : model;
        return new ModelCheckpoint(dir, demo == null ? null : demo.resolve("input.png"), CheckpointFolder.open(dir));
    }

    /** The checkpoint folder (the unpacked one for the demo). */
    public Path dir() { return dir; }

    /** Whether this is the built-in demo model. */
    public boolean demo() { return demoImage != null; }

    /** The demo's test image; null for a real checkpoint. */
    public Path demoImage() { return demoImage; }

    /** {@code model_index.json}'s pipeline class. */
    public String pipelineClass() { return folder.layout().className(); }

    /** The frames a request without {@code --frames} gets: I2VGen-XL's are resolved by validation, SVD's are the UNet's. */
    public int frames(GenerationParameters p) {
        if (p.frames() != null) return p.frames();
        return SpatioTemporalUNetConfig.load(folder.component("unet").configFile()).numFrames();
    }

    /**
     * The run's scheduler (the checkpoint's or --scheduler's) against the checkpoint's scheduler config and the step
     * count, before any weights are read: the pipeline repeats the check, but here it is a usage error.
     *
     * @throws CliErrors.BadInputException with the reason
     */
    public void checkScheduler(GenerationParameters p) {
        try {
            Scheduler scheduler = CheckpointScheduler.read(folder.component("scheduler").configFile())
                    .forRun(p.scheduler(), p.steps(), p.eta());
            if (p.i4vgen() != null && !scheduler.className().equals("DDIMScheduler")) throw new IllegalArgumentException(
                    "--i4vgen runs with DDIMScheduler (NI-VSDS uses DDIM's ᾱ_t and add_noise); this checkpoint's scheduler is "
                            + scheduler.className() + ": add --scheduler DDIMScheduler");
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new CliErrors.BadInputException((p.scheduler() != null ? "--scheduler: " : "") + e.getMessage()
                    + (p.scheduler() != null ? " (--scheduler list prints the schedulers and their options)" : ""), e);
        }
    }

    /** The pipeline's own size limits ({@link dev.i2vgen.sampler.pipeline.RequestLimitException}), before any weights or device. */
    public void checkSizes(VideoRequest request) { VideoPipelines.checkSizes(dir, request); }

    /** Starts the backend and builds the pipeline on it; closing the result releases both. */
    public LoadedPipeline load(String device, DType dtype) { return load(device, java.util.List.of(), dtype); }

    /** On the --devices ordinals (empty: the backend's default device; two: CFG-parallel). */
    public LoadedPipeline load(String device, java.util.List<Integer> devices, DType dtype) { return load(device, devices, dtype, phase -> { }); }

    /**
     * {@link #load(String, java.util.List, DType)}, telling {@code phaseStarted} when the backend start and the pipeline
     * load begin; {@code devices}: the --devices ordinals (empty: the backend's default device; two: CFG-parallel).
     */
    LoadedPipeline load(String device, java.util.List<Integer> devices, DType dtype, Consumer<String> phaseStarted) {
        try (BackendStart start = BackendStart.begin(device, devices, dtype)) {
            return load(start, dtype, phaseStarted);
        }
    }

    /**
     * {@link #load(String, java.util.List, DType, Consumer)} on backends started beforehand ({@link BackendStart}, beside
     * the run's checks): the weights are mapped (the folder is not validated again) while the backends finish starting,
     * then the pipeline takes them. Started late ({@code -Di2vgen.backend.earlyStart=false}), the backends start first
     * and their kernel compilation overlaps the mapping, as before.
     */
    LoadedPipeline load(BackendStart start, DType dtype, Consumer<String> phaseStarted) {
        java.util.concurrent.atomic.AtomicReference<DeviceBackends> taken = new java.util.concurrent.atomic.AtomicReference<>();
        if (!start.early()) {
            phaseStarted.accept("backend start");
            taken.set(start.join());
        }
        try {
            phaseStarted.accept(start.early() ? "pipeline load (weights mapped, device waited)" : "pipeline load (weights mapped)");
            VideoPipeline pipeline = VideoPipelines.fromPretrained(folder, () -> {
                if (taken.get() == null) taken.set(start.join());
                return taken.get().backends();
            }, dtype);
            return new LoadedPipeline(taken.get(), pipeline, dtype);
        } catch (RuntimeException | Error e) {
            if (taken.get() != null) taken.get().close();   // else the start closes them, once started
            throw e;
        }
    }
}
