package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Every option of diffusers' EulerDiscreteScheduler, as stored in {@code scheduler/scheduler_config.json} (diffusers'
 * key in brackets); absent or null keys take diffusers' constructor defaults, unknown keys (such as
 * {@code _class_name}) are ignored as diffusers does.
 *
 * @param numTrainTimesteps     [num_train_timesteps] training steps T (1000)
 * @param betaStart             [beta_start] (0.0001)
 * @param betaEnd               [beta_end] (0.02)
 * @param betaSchedule          [beta_schedule] (linear)
 * @param trainedBetas          [trained_betas] explicit betas replacing the schedule, or null (null)
 * @param predictionType        [prediction_type] (epsilon; "original_sample" reads as sample, as diffusers' step does)
 * @param interpolationType     [interpolation_type] (linear)
 * @param useKarrasSigmas       [use_karras_sigmas] Karras et al. ρ = 7 sigmas (false)
 * @param useExponentialSigmas  [use_exponential_sigmas] sigmas evenly spaced in log σ (false)
 * @param useBetaSigmas         [use_beta_sigmas] sigmas at Beta(0.6, 0.6) quantiles (false)
 * @param sigmaMin              [sigma_min] range of the three sigma kinds above, or null for the schedule's (null)
 * @param sigmaMax              [sigma_max] likewise (null)
 * @param timestepSpacing       [timestep_spacing] (linspace)
 * @param timestepType          [timestep_type] (discrete)
 * @param stepsOffset           [steps_offset] added to "leading" timesteps (0)
 * @param rescaleBetasZeroSnr   [rescale_betas_zero_snr] (false)
 * @param finalSigmasType       [final_sigmas_type] (zero)
 */
public record EulerDiscreteConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        double[] trainedBetas,
        PredictionType predictionType,
        InterpolationType interpolationType,
        boolean useKarrasSigmas,
        boolean useExponentialSigmas,
        boolean useBetaSigmas,
        Double sigmaMin,
        Double sigmaMax,
        TimestepSpacing timestepSpacing,
        TimestepType timestepType,
        int stepsOffset,
        boolean rescaleBetasZeroSnr,
        FinalSigmasType finalSigmasType) {

    /** The config keys, in diffusers' constructor order. */
    public static final List<String> KEYS = List.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "prediction_type", "interpolation_type", "use_karras_sigmas", "use_exponential_sigmas",
            "use_beta_sigmas", "sigma_min", "sigma_max", "timestep_spacing", "timestep_type", "steps_offset",
            "rescale_betas_zero_snr", "final_sigmas_type");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public EulerDiscreteConfig {
        trainedBetas = SchedulerConfigJson.checkedTrainedBetas(numTrainTimesteps, trainedBetas);
        Objects.requireNonNull(betaSchedule, "beta_schedule");
        Objects.requireNonNull(predictionType, "prediction_type");
        Objects.requireNonNull(interpolationType, "interpolation_type");
        Objects.requireNonNull(timestepSpacing, "timestep_spacing");
        Objects.requireNonNull(timestepType, "timestep_type");
        Objects.requireNonNull(finalSigmasType, "final_sigmas_type");
        if ((useKarrasSigmas ? 1 : 0) + (useExponentialSigmas ? 1 : 0) + (useBetaSigmas ? 1 : 0) > 1) {
            throw new IllegalArgumentException("Only one of `config.use_beta_sigmas`, `config.use_exponential_sigmas`,"
                    + " `config.use_karras_sigmas` can be used.");
        }
        if (sigmaMin != null && !(sigmaMin >= 0 && sigmaMin < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("sigma_min must be a finite number ≥ 0 or null, got " + sigmaMin);
        }
        if (sigmaMax != null && !(sigmaMax > 0 && sigmaMax < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("sigma_max must be a finite number > 0 or null, got " + sigmaMax);
        }
    }

    /** diffusers' {@code EulerDiscreteScheduler()} defaults. */
    public static EulerDiscreteConfig defaults() {
        return new EulerDiscreteConfig(1000, 0.0001, 0.02, BetaSchedule.LINEAR, null, PredictionType.EPSILON,
                InterpolationType.LINEAR, false, false, false, null, null, TimestepSpacing.LINSPACE,
                TimestepType.DISCRETE, 0, false, FinalSigmasType.ZERO);
    }

    public static EulerDiscreteConfig read(Path schedulerConfigJson) {
        return SchedulerConfigJson.read(MAPPER, schedulerConfigJson, EulerDiscreteConfig::fromJson);
    }

    public static EulerDiscreteConfig fromJson(JsonNode json) {
        return fromJson(json, "scheduler config");
    }

    /** @param source named in error messages (usually the file) */
    public static EulerDiscreteConfig fromJson(JsonNode json, String source) {
        SchedulerConfigReader r = new SchedulerConfigReader(json, source);
        EulerDiscreteConfig d = defaults();
        String prediction = r.string("prediction_type", d.predictionType.configName());
        try {
            TrainingKeys<BetaSchedule> t = TrainingKeys.read(r, d.numTrainTimesteps, d.betaStart, d.betaEnd, d.betaSchedule);
            return new EulerDiscreteConfig(
                    t.numTrainTimesteps(), t.betaStart(), t.betaEnd(), t.betaSchedule(), t.trainedBetas(),
                    // diffusers' step() still accepts the legacy name "original_sample" for "sample"
                    "original_sample".equals(prediction) ? PredictionType.SAMPLE
                            : r.choice("prediction_type", d.predictionType, PredictionType.values(), PredictionType::configName),
                    r.choice("interpolation_type", d.interpolationType, InterpolationType.values(), InterpolationType::configName),
                    r.bool("use_karras_sigmas", d.useKarrasSigmas),
                    r.bool("use_exponential_sigmas", d.useExponentialSigmas),
                    r.bool("use_beta_sigmas", d.useBetaSigmas),
                    r.optionalNumber("sigma_min"),
                    r.optionalNumber("sigma_max"),
                    r.choice("timestep_spacing", d.timestepSpacing, TimestepSpacing.values(), TimestepSpacing::configName),
                    r.choice("timestep_type", d.timestepType, TimestepType.values(), TimestepType::configName),
                    r.integer("steps_offset", d.stepsOffset),
                    r.bool("rescale_betas_zero_snr", d.rescaleBetasZeroSnr),
                    r.choice("final_sigmas_type", d.finalSigmasType, FinalSigmasType.values(), FinalSigmasType::configName));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw SchedulerConfigJson.located(source, e);
        }
    }

    /** This config as diffusers' JSON keys (every key, null where unset). */
    public ObjectNode toJson() {
        ObjectNode o = SchedulerConfigJson.trainingJson(numTrainTimesteps, betaStart, betaEnd, betaSchedule.configName(),
                trainedBetas);
        o.put("prediction_type", predictionType.configName());
        o.put("interpolation_type", interpolationType.configName());
        o.put("use_karras_sigmas", useKarrasSigmas);
        o.put("use_exponential_sigmas", useExponentialSigmas);
        o.put("use_beta_sigmas", useBetaSigmas);
        o.put("sigma_min", sigmaMin);
        o.put("sigma_max", sigmaMax);
        o.put("timestep_spacing", timestepSpacing.configName());
        o.put("timestep_type", timestepType.configName());
        o.put("steps_offset", stepsOffset);
        o.put("rescale_betas_zero_snr", rescaleBetasZeroSnr);
        o.put("final_sigmas_type", finalSigmasType.configName());
        return o;
    }

    /** {@link #withOverrides(Map, String)} naming "scheduler overrides" in errors. */
    public EulerDiscreteConfig withOverrides(Map<String, ?> overrides) {
        return withOverrides(overrides, "scheduler overrides");
    }

    /** This config with some keys replaced, parsed as a config file is: {@link SchedulerConfigJson#withOverrides}. */
    public EulerDiscreteConfig withOverrides(Map<String, ?> overrides, String source) {
        return SchedulerConfigJson.withOverrides(toJson(), overrides, source, KEYS, "EulerDiscreteScheduler", MAPPER,
                EulerDiscreteConfig::fromJson);
    }

    /** The explicit betas, or null (a copy: the record stays immutable). */
    @Override
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }

    @Override
    public boolean equals(Object o) { return o instanceof EulerDiscreteConfig c && toJson().equals(c.toJson()); }

    @Override
    public int hashCode() { return toJson().hashCode(); }

    @Override
    public String toString() { return "EulerDiscreteConfig" + toJson(); }
}
