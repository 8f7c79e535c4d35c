package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Every option of diffusers' DDPMScheduler, as stored in {@code scheduler_config.json} (diffusers' key in brackets,
 * its default in parentheses); absent or null keys take the default, unknown keys (such as {@code _class_name}) are
 * ignored as diffusers' {@code from_config} does.
 *
 * @param numTrainTimesteps        [num_train_timesteps] training steps T (1000)
 * @param betaStart                [beta_start] (0.0001)
 * @param betaEnd                  [beta_end] (0.02)
 * @param betaSchedule             [beta_schedule] (linear)
 * @param trainedBetas             [trained_betas] explicit betas replacing the schedule, or null (null)
 * @param varianceType             [variance_type] (fixed_small)
 * @param clipSample               [clip_sample] clamp x0 to ±clip_sample_range (true)
 * @param predictionType           [prediction_type] (epsilon)
 * @param thresholding             [thresholding] dynamic thresholding of x0, instead of clipping (false)
 * @param dynamicThresholdingRatio [dynamic_thresholding_ratio] quantile of |x0| (0.995)
 * @param clipSampleRange          [clip_sample_range] (1.0)
 * @param sampleMaxValue           [sample_max_value] upper bound of the threshold (1.0)
 * @param timestepSpacing          [timestep_spacing] (leading)
 * @param stepsOffset              [steps_offset] added to "leading" timesteps (0)
 * @param rescaleBetasZeroSnr      [rescale_betas_zero_snr] (false)
 */
public record DdpmConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        DdpmBetaSchedule betaSchedule,
        double[] trainedBetas,
        DdpmVarianceType varianceType,
        boolean clipSample,
        PredictionType predictionType,
        boolean thresholding,
        double dynamicThresholdingRatio,
        double clipSampleRange,
        double sampleMaxValue,
        TimestepSpacing timestepSpacing,
        int stepsOffset,
        boolean rescaleBetasZeroSnr) {

    /** The config keys, in diffusers' constructor order. */
    public static final List<String> KEYS = List.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "variance_type", "clip_sample", "prediction_type", "thresholding",
            "dynamic_thresholding_ratio", "clip_sample_range", "sample_max_value", "timestep_spacing", "steps_offset",
            "rescale_betas_zero_snr");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public DdpmConfig {
        trainedBetas = SchedulerConfigJson.checkedTrainedBetas(numTrainTimesteps, trainedBetas);
        Objects.requireNonNull(betaSchedule, "beta_schedule");
        Objects.requireNonNull(varianceType, "variance_type");
        Objects.requireNonNull(predictionType, "prediction_type");
        Objects.requireNonNull(timestepSpacing, "timestep_spacing");
        // torch.quantile's own condition, checked where diffusers would fail at the first step
        if (thresholding && !(dynamicThresholdingRatio >= 0 && dynamicThresholdingRatio <= 1)) throw new IllegalArgumentException(
                "dynamic_thresholding_ratio must be a quantile in [0, 1], got " + dynamicThresholdingRatio);
    }

    /** diffusers' {@code DDPMScheduler()} defaults. */
    public static DdpmConfig defaults() {
        return new DdpmConfig(1000, 0.0001, 0.02, DdpmBetaSchedule.LINEAR, null, DdpmVarianceType.FIXED_SMALL, true,
                PredictionType.EPSILON, false, 0.995, 1.0, 1.0, TimestepSpacing.LEADING, 0, false);
    }

    public static DdpmConfig read(Path schedulerConfigJson) {
        return SchedulerConfigJson.read(MAPPER, schedulerConfigJson, DdpmConfig::fromJson);
    }

    public static DdpmConfig fromJson(JsonNode json) {
        return fromJson(json, "scheduler config");
    }

    /** @param source named in error messages (usually the file) */
    public static DdpmConfig fromJson(JsonNode json, String source) {
        SchedulerConfigReader r = new SchedulerConfigReader(json, source);
        DdpmConfig d = defaults();
        try {
            TrainingKeys<DdpmBetaSchedule> t = TrainingKeys.read(r, d.numTrainTimesteps, d.betaStart, d.betaEnd, d.betaSchedule.configName(),
                    r.parser("beta_schedule", DdpmBetaSchedule.values(), DdpmBetaSchedule::configName));
            return new DdpmConfig(
                    t.numTrainTimesteps(), t.betaStart(), t.betaEnd(), t.betaSchedule(), t.trainedBetas(),
                    r.choice("variance_type", d.varianceType, DdpmVarianceType.values(), DdpmVarianceType::configName),
                    r.bool("clip_sample", d.clipSample),
                    r.choice("prediction_type", d.predictionType, PredictionType.values(), PredictionType::configName),
                    r.bool("thresholding", d.thresholding),
                    r.number("dynamic_thresholding_ratio", d.dynamicThresholdingRatio),
                    r.number("clip_sample_range", d.clipSampleRange),
                    r.number("sample_max_value", d.sampleMaxValue),
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
        o.put("variance_type", varianceType.configName());
        o.put("clip_sample", clipSample);
        o.put("prediction_type", predictionType.configName());
        o.put("thresholding", thresholding);
        o.put("dynamic_thresholding_ratio", dynamicThresholdingRatio);
        o.put("clip_sample_range", clipSampleRange);
        o.put("sample_max_value", sampleMaxValue);
        o.put("timestep_spacing", timestepSpacing.configName());
        o.put("steps_offset", stepsOffset);
        o.put("rescale_betas_zero_snr", rescaleBetasZeroSnr);
        return o;
    }

    /** {@link #withOverrides(Map, String)} naming "scheduler overrides" in errors. */
    public DdpmConfig withOverrides(Map<String, ?> overrides) {
        return withOverrides(overrides, "scheduler overrides");
    }

    /** This config with some keys replaced, parsed as a config file is: {@link SchedulerConfigJson#withOverrides}. */
    public DdpmConfig withOverrides(Map<String, ?> overrides, String source) {
        return SchedulerConfigJson.withOverrides(toJson(), overrides, source, KEYS, "DDPMScheduler", MAPPER,
                DdpmConfig::fromJson);
    }

    /** The explicit betas, or null (a copy: the record stays immutable). */
    @Override
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }

    @Override
    public boolean equals(Object o) { return o instanceof DdpmConfig c && toJson().equals(c.toJson()); }

    @Override
    public int hashCode() { return toJson().hashCode(); }

    @Override
    public String toString() { return "DdpmConfig" + toJson(); }
}
