package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Every option of diffusers' LCMScheduler, as stored in {@code scheduler_config.json} (diffusers' key in brackets, its
 * default in parentheses); absent or null keys take the default, unknown keys (such as {@code _class_name}) are
 * ignored as diffusers' {@code from_config} does.
 *
 * @param numTrainTimesteps        [num_train_timesteps] training steps T (1000)
 * @param betaStart                [beta_start] (0.00085)
 * @param betaEnd                  [beta_end] (0.012)
 * @param betaSchedule             [beta_schedule] (scaled_linear)
 * @param trainedBetas             [trained_betas] explicit betas replacing the schedule, or null (null)
 * @param originalInferenceSteps   [original_inference_steps] length of the distillation schedule that the inference
 *                                 timesteps are taken from (50)
 * @param clipSample               [clip_sample] clamp x0 to ±clip_sample_range (false)
 * @param clipSampleRange          [clip_sample_range] (1.0)
 * @param setAlphaToOne            [set_alpha_to_one] ᾱ for a negative next timestep: 1, else ᾱ_0 (true); only custom
 *                                 timesteps ending below 0 reach it
 * @param stepsOffset              [steps_offset] (0) stored only: LCM's set_timesteps does not read it
 * @param predictionType           [prediction_type] (epsilon)
 * @param thresholding             [thresholding] dynamic thresholding of x0, instead of clipping (false)
 * @param dynamicThresholdingRatio [dynamic_thresholding_ratio] quantile of |x0| (0.995)
 * @param sampleMaxValue           [sample_max_value] upper bound of the threshold (1.0)
 * @param timestepSpacing          [timestep_spacing] (leading) stored only: LCM's set_timesteps does not read it
 * @param timestepScaling          [timestep_scaling] t's factor in the boundary-condition scalings (10.0)
 * @param rescaleBetasZeroSnr      [rescale_betas_zero_snr] (false)
 */
public record LcmConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        double[] trainedBetas,
        int originalInferenceSteps,
        boolean clipSample,
        double clipSampleRange,
        boolean setAlphaToOne,
        int stepsOffset,
        PredictionType predictionType,
        boolean thresholding,
        double dynamicThresholdingRatio,
        double sampleMaxValue,
        TimestepSpacing timestepSpacing,
        double timestepScaling,
        boolean rescaleBetasZeroSnr) {

    /** The config keys, in diffusers' constructor order. */
    public static final List<String> KEYS = List.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "original_inference_steps", "clip_sample", "clip_sample_range", "set_alpha_to_one",
            "steps_offset", "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value",
            "timestep_spacing", "timestep_scaling", "rescale_betas_zero_snr");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public LcmConfig {
        trainedBetas = SchedulerConfigJson.checkedTrainedBetas(numTrainTimesteps, trainedBetas);
        // diffusers divides num_train_timesteps by it in set_timesteps
        if (originalInferenceSteps < 1) throw new IllegalArgumentException("original_inference_steps must be ≥ 1, got "
                + originalInferenceSteps);
        Objects.requireNonNull(betaSchedule, "beta_schedule");
        Objects.requireNonNull(predictionType, "prediction_type");
        Objects.requireNonNull(timestepSpacing, "timestep_spacing");
        // torch.quantile's own condition, checked where diffusers would fail at the first step
        if (thresholding && !(dynamicThresholdingRatio >= 0 && dynamicThresholdingRatio <= 1)) throw new IllegalArgumentException(
                "dynamic_thresholding_ratio must be a quantile in [0, 1], got " + dynamicThresholdingRatio);
    }

    /** diffusers' {@code LCMScheduler()} defaults. */
    public static LcmConfig defaults() {
        return new LcmConfig(1000, 0.00085, 0.012, BetaSchedule.SCALED_LINEAR, null, 50, false, 1.0, true, 0,
                PredictionType.EPSILON, false, 0.995, 1.0, TimestepSpacing.LEADING, 10.0, false);
    }

    public static LcmConfig read(Path schedulerConfigJson) {
        return SchedulerConfigJson.read(MAPPER, schedulerConfigJson, LcmConfig::fromJson);
    }

    public static LcmConfig fromJson(JsonNode json) {
        return fromJson(json, "scheduler config");
    }

    /** @param source named in error messages (usually the file) */
    public static LcmConfig fromJson(JsonNode json, String source) {
        SchedulerConfigReader r = new SchedulerConfigReader(json, source);
        LcmConfig d = defaults();
        try {
            TrainingKeys<BetaSchedule> t = TrainingKeys.read(r, d.numTrainTimesteps, d.betaStart, d.betaEnd, d.betaSchedule);
            return new LcmConfig(
                    t.numTrainTimesteps(), t.betaStart(), t.betaEnd(), t.betaSchedule(), t.trainedBetas(),
                    r.integer("original_inference_steps", d.originalInferenceSteps),
                    r.bool("clip_sample", d.clipSample),
                    r.number("clip_sample_range", d.clipSampleRange),
                    r.bool("set_alpha_to_one", d.setAlphaToOne),
                    r.integer("steps_offset", d.stepsOffset),
                    r.choice("prediction_type", d.predictionType, PredictionType.values(), PredictionType::configName),
                    r.bool("thresholding", d.thresholding),
                    r.number("dynamic_thresholding_ratio", d.dynamicThresholdingRatio),
                    r.number("sample_max_value", d.sampleMaxValue),
                    r.choice("timestep_spacing", d.timestepSpacing, TimestepSpacing.values(), TimestepSpacing::configName),
                    r.number("timestep_scaling", d.timestepScaling),
                    r.bool("rescale_betas_zero_snr", d.rescaleBetasZeroSnr));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw SchedulerConfigJson.located(source, e);
        }
    }

    /** This config as diffusers' JSON keys (every key, null where unset). */
    public ObjectNode toJson() {
        ObjectNode o = SchedulerConfigJson.trainingJson(numTrainTimesteps, betaStart, betaEnd, betaSchedule.configName(),
                trainedBetas);
        o.put("original_inference_steps", originalInferenceSteps);
        o.put("clip_sample", clipSample);
        o.put("clip_sample_range", clipSampleRange);
        o.put("set_alpha_to_one", setAlphaToOne);
        o.put("steps_offset", stepsOffset);
        o.put("prediction_type", predictionType.configName());
        o.put("thresholding", thresholding);
        o.put("dynamic_thresholding_ratio", dynamicThresholdingRatio);
        o.put("sample_max_value", sampleMaxValue);
        o.put("timestep_spacing", timestepSpacing.configName());
        o.put("timestep_scaling", timestepScaling);
        o.put("rescale_betas_zero_snr", rescaleBetasZeroSnr);
        return o;
    }

    /** {@link #withOverrides(Map, String)} naming "scheduler overrides" in errors. */
    public LcmConfig withOverrides(Map<String, ?> overrides) {
        return withOverrides(overrides, "scheduler overrides");
    }

    /** This config with some keys replaced, parsed as a config file is: {@link SchedulerConfigJson#withOverrides}. */
    public LcmConfig withOverrides(Map<String, ?> overrides, String source) {
        return SchedulerConfigJson.withOverrides(toJson(), overrides, source, KEYS, "LCMScheduler", MAPPER,
                LcmConfig::fromJson);
    }

    /** The explicit betas, or null (a copy: the record stays immutable). */
    @Override
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }

    @Override
    public boolean equals(Object o) { return o instanceof LcmConfig c && toJson().equals(c.toJson()); }

    @Override
    public int hashCode() { return toJson().hashCode(); }

    @Override
    public String toString() { return "LcmConfig" + toJson(); }
}
