package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The options of diffusers' DDIMScheduler as stored in {@code scheduler/scheduler_config.json}; absent keys take
 * diffusers' constructor defaults. Unknown keys (for example {@code _class_name}) are ignored, as diffusers does.
 *
 * @param trainedBetas explicit betas (overrides the schedule), or null
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
        try {
            return fromJson(new ObjectMapper().readTree(schedulerConfigJson.toFile()), schedulerConfigJson.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read scheduler config " + schedulerConfigJson, e);
        }
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
        TrainingKeys<BetaSchedule> t = TrainingKeys.read(r, d.numTrainTimesteps, d.betaStart, d.betaEnd, d.betaSchedule.configName(),
                BetaSchedule::fromConfig);
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
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DdimConfig c && numTrainTimesteps == c.numTrainTimesteps && betaStart == c.betaStart
                && betaEnd == c.betaEnd && betaSchedule == c.betaSchedule && Arrays.equals(trainedBetas, c.trainedBetas)
                && clipSample == c.clipSample && setAlphaToOne == c.setAlphaToOne && stepsOffset == c.stepsOffset
                && predictionType == c.predictionType && thresholding == c.thresholding
                && dynamicThresholdingRatio == c.dynamicThresholdingRatio && clipSampleRange == c.clipSampleRange
                && sampleMaxValue == c.sampleMaxValue && timestepSpacing == c.timestepSpacing
                && rescaleBetasZeroSnr == c.rescaleBetasZeroSnr;
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Objects.hash(numTrainTimesteps, betaStart, betaEnd, betaSchedule, clipSample, setAlphaToOne,
                stepsOffset, predictionType, thresholding, dynamicThresholdingRatio, clipSampleRange, sampleMaxValue,
                timestepSpacing, rescaleBetasZeroSnr) + Arrays.hashCode(trainedBetas);
    }

    /** The explicit betas, or null (a copy: the record stays immutable). */
    @Override
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }
}
