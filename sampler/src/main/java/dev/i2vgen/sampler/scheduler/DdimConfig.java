package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The options of diffusers' DDIMScheduler as stored in {@code scheduler/scheduler_config.json} (diffusers' key in
 * brackets, its default in parentheses); absent keys take diffusers' constructor defaults. Unknown keys (for example
 * {@code _class_name}) are ignored, as diffusers does.
 *
 * @param numTrainTimesteps        [num_train_timesteps] training steps T (1000)
 * @param betaStart                [beta_start] (0.0001)
 * @param betaEnd                  [beta_end] (0.02)
 * @param betaSchedule             [beta_schedule] (linear)
 * @param trainedBetas             [trained_betas] explicit betas replacing the schedule, or null (null)
 * @param clipSample               [clip_sample] clamp x0 to ±clip_sample_range (true)
 * @param setAlphaToOne            [set_alpha_to_one] ᾱ after the last step: 1, else ᾱ_0 (true)
 * @param stepsOffset              [steps_offset] added to "leading" timesteps (0)
 * @param predictionType           [prediction_type] (epsilon)
 * @param thresholding             [thresholding] dynamic thresholding of x0, instead of clipping (false)
 * @param dynamicThresholdingRatio [dynamic_thresholding_ratio] quantile of |x0| (0.995)
 * @param clipSampleRange          [clip_sample_range] (1.0)
 * @param sampleMaxValue           [sample_max_value] upper bound of the threshold (1.0)
 * @param timestepSpacing          [timestep_spacing] (leading)
 * @param rescaleBetasZeroSnr      [rescale_betas_zero_snr] (false)
 */
public record DdimConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        double[] trainedBetas,
        boolean clipSample,
        boolean setAlphaToOne,
        int stepsOffset,
        PredictionType predictionType,
        boolean thresholding,
        double dynamicThresholdingRatio,
        double clipSampleRange,
        double sampleMaxValue,
        TimestepSpacing timestepSpacing,
        boolean rescaleBetasZeroSnr) {

    /** The config keys, in diffusers' constructor order. */
    public static final List<String> KEYS = List.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "clip_sample", "set_alpha_to_one", "steps_offset", "prediction_type", "thresholding",
            "dynamic_thresholding_ratio", "clip_sample_range", "sample_max_value", "timestep_spacing",
            "rescale_betas_zero_snr");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public DdimConfig {
        trainedBetas = SchedulerConfigJson.checkedTrainedBetas(numTrainTimesteps, trainedBetas);
        if (betaSchedule == null || predictionType == null || timestepSpacing == null) throw new NullPointerException("DdimConfig enums must not be null");
    }

    /** diffusers' DDIMScheduler() defaults. */
    public static DdimConfig defaults() {
        return new DdimConfig(1000, 0.0001, 0.02, BetaSchedule.LINEAR, null, true, true, 0,
                PredictionType.EPSILON, false, 0.995, 1.0, 1.0, TimestepSpacing.LEADING, false);
    }

    public static DdimConfig read(Path schedulerConfigJson) {
        return SchedulerConfigJson.read(MAPPER, schedulerConfigJson, DdimConfig::fromJson);
    }

    public static DdimConfig fromJson(JsonNode json) {
        return fromJson(json, "scheduler config");
    }

    /** @param source named in error messages (usually the file) */
    public static DdimConfig fromJson(JsonNode json, String source) {
        // checked before the shared reader so the message keeps DDIM's wording (the reader's adds the value)
        if (json == null || !json.isObject()) throw new IllegalArgumentException(source + ": expected a JSON object");
        DdimConfig d = defaults();
        SchedulerConfigReader r = new SchedulerConfigReader(json, source);
        try {
            TrainingKeys<BetaSchedule> t = TrainingKeys.read(r, d.numTrainTimesteps, d.betaStart, d.betaEnd,
                    d.betaSchedule.configName(), BetaSchedule::fromConfig);
            return new DdimConfig(
                    t.numTrainTimesteps(), t.betaStart(), t.betaEnd(), t.betaSchedule(), t.trainedBetas(),
                    r.bool("clip_sample", d.clipSample),
                    r.bool("set_alpha_to_one", d.setAlphaToOne),
                    r.integer("steps_offset", d.stepsOffset),
                    PredictionType.fromConfig(r.string("prediction_type", d.predictionType.configName())),
                    r.bool("thresholding", d.thresholding),
                    r.number("dynamic_thresholding_ratio", d.dynamicThresholdingRatio),
                    r.number("clip_sample_range", d.clipSampleRange),
                    r.number("sample_max_value", d.sampleMaxValue),
                    TimestepSpacing.fromConfig(r.string("timestep_spacing", d.timestepSpacing.configName())),
                    r.bool("rescale_betas_zero_snr", d.rescaleBetasZeroSnr));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw SchedulerConfigJson.located(source, e);
        }
    }

    /** This config as diffusers' JSON keys (every key, null where unset). */
    public ObjectNode toJson() {
        ObjectNode o = SchedulerConfigJson.trainingJson(numTrainTimesteps, betaStart, betaEnd, betaSchedule.configName(),
                trainedBetas);
        o.put("clip_sample", clipSample);
        o.put("set_alpha_to_one", setAlphaToOne);
        o.put("steps_offset", stepsOffset);
        o.put("prediction_type", predictionType.configName());
        o.put("thresholding", thresholding);
        o.put("dynamic_thresholding_ratio", dynamicThresholdingRatio);
        o.put("clip_sample_range", clipSampleRange);
        o.put("sample_max_value", sampleMaxValue);
        o.put("timestep_spacing", timestepSpacing.configName());
        o.put("rescale_betas_zero_snr", rescaleBetasZeroSnr);
        return o;
    }

    /** {@link #withOverrides(Map, String)} naming "scheduler overrides" in errors. */
    public DdimConfig withOverrides(Map<String, ?> overrides) {
        return withOverrides(overrides, "scheduler overrides");
    }

    /** This config with some keys replaced, parsed as a config file is: {@link SchedulerConfigJson#withOverrides}. */
    public DdimConfig withOverrides(Map<String, ?> overrides, String source) {
        return SchedulerConfigJson.withOverrides(toJson(), overrides, source, KEYS, "DDIMScheduler", MAPPER,
                DdimConfig::fromJson);
    }

    @Override
    public boolean equals(Object o) { return o instanceof DdimConfig c && toJson().equals(c.toJson()); }

    @Override
    public int hashCode() { return toJson().hashCode(); }

    /** The explicit betas, or null (a copy: the record stays immutable). */
    @Override
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }

    @Override
    public String toString() { return "DdimConfig" + toJson(); }
}
