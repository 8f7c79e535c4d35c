package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.tensor.DType;

import java.nio.file.Path;

/**
 * The scheduler a pipeline checkpoint stores ({@code scheduler/scheduler_config.json}: its {@code _class_name} and
 * config), from which each run builds a fresh scheduler: the stored class, or another one chosen by a
 * {@link SchedulerSpec}, built from the stored config as diffusers' {@code Cls.from_config(pipe.scheduler.config,
 * **overrides)} (keys the class does not know are ignored, missing ones take its defaults, then the overrides).
 *
 * @param config the stored JSON object
 * @param source named in errors (usually the file)
 */
public record CheckpointScheduler(JsonNode config, String source) {
    public CheckpointScheduler {
        if (config == null || !config.isObject()) throw new IllegalArgumentException(source + ": expected a JSON object, got " + config);
    }

    /** Reads a {@code scheduler_config.json}, naming the file in errors. */
    public static CheckpointScheduler read(Path schedulerConfigJson) {
        return new CheckpointScheduler(Schedulers.readJson(schedulerConfigJson), schedulerConfigJson.toString());
    }

    /** The stored {@code _class_name}; an error naming the file when it is missing. */
    public String className() {
        JsonNode name = config.get("_class_name");
        if (name == null || !name.isTextual()) throw new IllegalArgumentException(source + ": no '_class_name' (which"
                + " diffusers scheduler this config is for); choose one with a scheduler spec, e.g. DDIMScheduler");
        return name.textValue();
    }

    /**
     * The scheduler of one run, its timesteps set, checked before any model work: η only where the scheduler takes it,
     * no schedule diffusers would start at a later step (a repeated first timestep), every refusal its step graph
     * makes at build time, and no option combination whose arithmetic breaks down ({@link FiniteScheduleCheck}).
     *
     * @param spec the scheduler to swap in, or null for the stored one
     * @throws IllegalArgumentException naming the spec (or the file) and what is wrong
     */
    public Scheduler forRun(SchedulerSpec spec, int steps, double eta) {
        String what = spec != null ? "scheduler '" + spec + "'" : source;
        Scheduler s = create(spec).setTimesteps(steps);
        if (eta > 0 && !s.acceptsEta()) throw new IllegalArgumentException("eta = " + eta + ": " + what + " takes no"
                + " eta (only DDIMScheduler's step does)");
        float[] t = s.timesteps();
        if (s.locatesFirstStepByTimestep() && t.length > 1 && t[1] == t[0]) throw new IllegalArgumentException(what
                + ": the schedule of " + steps + " steps starts with timestep " + t[0] + " more than once; diffusers' "
                + s.className() + " starts such a run at its second occurrence (index_for_timestep) and skips the"
                + " first step (most then fail with an IndexError on their last one). Use another step count or sigma schedule"
                + " (e.g. without use_karras_sigmas on a zero-SNR or high-σ schedule).");
        if (s.stepsOnDevice()) s.stepGraph(new TaskGraph("scheduler_check", DType.F32), eta, 1, 1, 1, 1);
        FiniteScheduleCheck.requireFinite(() -> create(spec), steps, what);
        return s;
    }

    /** A fresh scheduler: the stored class with the stored config, or {@code spec}'s class and overrides on it (spec may be null). */
    public Scheduler create(SchedulerSpec spec) {
        return Schedulers.create(config, source, spec);
    }
}
