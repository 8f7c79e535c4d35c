package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Every option of diffusers' EulerAncestralDiscreteScheduler, as stored in {@code scheduler_config.json} (diffusers'
 * key in brackets, its default in parentheses); absent or null keys take the default, unknown keys (such as
 * {@code _class_name}, or a DDIM config's {@code clip_sample}) are ignored as diffusers' {@code from_config} does.
 *
 * @param numTrainTimesteps   [num_train_timesteps] training steps T (1000)
 * @param betaStart           [beta_start] (0.0001)
 * @param betaEnd             [beta_end] (0.02)
 * @param betaSchedule        [beta_schedule] (linear)
 * @param trainedBetas        [trained_betas] explicit betas replacing the schedule, or null (null)
 * @param predictionType      [prediction_type] (epsilon; diffusers accepts "sample" here but its step() refuses it)
 * @param timestepSpacing     [timestep_spacing] (linspace)
 * @param stepsOffset         [steps_offset] added to "leading" timesteps (0)
 * @param rescaleBetasZeroSnr [rescale_betas_zero_snr] (false)
 */
public record EulerAncestralDiscreteConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        double[] trainedBetas,
        PredictionType predictionType,
        TimestepSpacing timestepSpacing,
        int stepsOffset,
        boolean rescaleBetasZeroSnr) {

    /** The config keys, in diffusers' constructor order. */
    public static final List<String> KEYS = List.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "prediction_type", "timestep_spacing", "steps_offset", "rescale_betas_zero_snr");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public EulerAncestralDiscreteConfig {
        trainedBetas = SchedulerConfigJson.checkedTrainedBetas(numTrainTimesteps, trainedBetas);
        Objects.requireNonNull(betaSchedule, "beta_schedule");
        Objects.requireNonNull(predictionType, "prediction_type");
        Objects.requireNonNull(timestepSpacing, "timestep_spacing");
    }

    /** diffusers' {@code EulerAncestralDiscreteScheduler()} defaults. */
    public static EulerAncestralDiscreteConfig defaults() {
        return new EulerAncestralDiscreteConfig(1000, 0.0001, 0.02, BetaSchedule.LINEAR, null, PredictionType.EPSILON,
                TimestepSpacing.LINSPACE, 0, false);
    }

    public static EulerAncestralDiscreteConfig read(Path schedulerConfigJson) {
        return SchedulerConfigJson.read(MAPPER, schedulerConfigJson, EulerAncestralDiscreteConfig::fromJson);
    }

    public static EulerAncestralDiscreteConfig fromJson(JsonNode json) {
        return fromJson(json, "scheduler config");
    }

    /** @param source named in error messages (usually the file) */
    public static EulerAncestralDiscreteConfig fromJson(JsonNode json, String source) {
        SchedulerConfigReader r = new SchedulerConfigReader(json, source);
        EulerAncestralDiscreteConfig d = defaults();
        try {
            TrainingKeys<BetaSchedule> t = TrainingKeys.read(r, d.numTrainTimesteps, d.betaStart, d.betaEnd, d.betaSchedule);
            return new EulerAncestralDiscreteConfig(
                    t.numTrainTimesteps(), t.betaStart(), t.betaEnd(), t.betaSchedule(), t.trainedBetas(),
                    r.choice("prediction_type", d.predictionType, PredictionType.values(), PredictionType::configName),
                    r.choice("timestep_spacing", d.timestepSpacing, TimestepSpacing.values(), TimestepSpacing::configName),
                    r.integer("steps_offset", d.stepsOffset),
                    r.bool("rescale_betas_zero_snr", d.rescaleBetasZeroSnr));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw SchedulerConfigJson.located(source, e);
        }
    }

    /** This config as diffusers' JSON keys (every key, null where unset). */
    public ObjectNode toJson() {
        ObjectNode o = SchedulerConfigJson.trainingJson(numTrainTimesteps, betaStart, betaEnd, betaSchedule.configName(),
                trainedBetas);
        o.put("prediction_type", predictionType.configName());
        o.put("timestep_spacing", timestepSpacing.configName());
        o.put("steps_offset", stepsOffset);
        o.put("rescale_betas_zero_snr", rescaleBetasZeroSnr);
        return o;
    }

    /** {@link #withOverrides(Map, String)} naming "scheduler overrides" in errors. */
    public EulerAncestralDiscreteConfig withOverrides(Map<String, ?> overrides) {
        return withOverrides(overrides, "scheduler overrides");
    }

    /** This config with some keys replaced, parsed as a config file is: {@link SchedulerConfigJson#withOverrides}. */
    public EulerAncestralDiscreteConfig withOverrides(Map<String, ?> overrides, String source) {
        return SchedulerConfigJson.withOverrides(toJson(), overrides, source, KEYS, "EulerAncestralDiscreteScheduler", MAPPER,
                EulerAncestralDiscreteConfig::fromJson);
    }

    /** The explicit betas, or null (a copy: the record stays immutable). */
    @Override
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }

    @Override
    public boolean equals(Object o) { return o instanceof EulerAncestralDiscreteConfig c && toJson().equals(c.toJson()); }

    @Override
    public int hashCode() { return toJson().hashCode(); }

    @Override
    public String toString() { return "EulerAncestralDiscreteConfig" + toJson(); }
}
