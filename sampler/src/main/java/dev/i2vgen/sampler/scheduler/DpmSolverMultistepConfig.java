package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Every option of diffusers' DPMSolverMultistepScheduler, as stored in {@code scheduler/scheduler_config.json}
 * (diffusers' key in brackets, its default in parentheses). Absent or null keys take the defaults; unknown keys
 * (such as {@code _class_name} or DDIM's {@code clip_sample}) are ignored, as diffusers does. Invalid values and
 * combinations are refused here with diffusers' own messages, also where diffusers only notices them in
 * set_timesteps or in the first step.
 *
 * @param numTrainTimesteps        [num_train_timesteps] training steps T (1000)
 * @param betaStart                [beta_start] (0.0001)
 * @param betaEnd                  [beta_end] (0.02)
 * @param betaSchedule             [beta_schedule] (linear)
 * @param trainedBetas             [trained_betas] explicit betas replacing the schedule, or null (null)
 * @param solverOrder              [solver_order] 1, 2 or 3; diffusers runs any larger order as 3 (2)
 * @param predictionType           [prediction_type] (epsilon)
 * @param thresholding             [thresholding] dynamic thresholding of x0 (false)
 * @param dynamicThresholdingRatio [dynamic_thresholding_ratio] quantile of |x0| (0.995)
 * @param sampleMaxValue           [sample_max_value] upper bound of the threshold (1.0)
 * @param algorithmType            [algorithm_type] ("dpmsolver++"; "deis" reads as dpmsolver++)
 * @param solverType               [solver_type] ("midpoint"; "logrho", "bh1", "bh2" read as midpoint)
 * @param lowerOrderFinal          [lower_order_final] lower orders for the last steps when fewer than 15 (true)
 * @param eulerAtFinal             [euler_at_final] first order for the last step (false)
 * @param useKarrasSigmas          [use_karras_sigmas] (false)
 * @param useExponentialSigmas     [use_exponential_sigmas] (false)
 * @param useBetaSigmas            [use_beta_sigmas] (false)
 * @param useLuLambdas             [use_lu_lambdas] log σ evenly spaced, Lu et al.'s uniform logSNR (false)
 * @param useFlowSigmas            [use_flow_sigmas] flow-matching sigmas, α = 1 − σ (false)
 * @param flowShift                [flow_shift] shift of the flow sigmas (1.0)
 * @param finalSigmasType          [final_sigmas_type] (zero; must be sigma_min for the non-++ algorithms)
 * @param lambdaMinClipped         [lambda_min_clipped] timesteps whose λ is below it are left out (−∞)
 * @param varianceType             [variance_type] "learned"/"learned_range" keep the first 3 channels of an ε
 *                                 output; any other text (e.g. DDPM's "fixed_small") or null has no effect (null)
 * @param timestepSpacing          [timestep_spacing] (linspace)
 * @param stepsOffset              [steps_offset] added to "leading" timesteps (0)
 * @param rescaleBetasZeroSnr      [rescale_betas_zero_snr] (false)
 * @param useDynamicShifting       [use_dynamic_shifting] allows set_timesteps' mu (false)
 * @param timeShiftType            [time_shift_type] only "exponential" works with mu ("exponential")
 * @param sigmaMin                 [sigma_min] not a constructor argument, but diffusers keeps it from a config file
 *                                 (e.g. one written for EulerDiscreteScheduler) and its Karras/exponential/beta
 *                                 sigmas then use it as the low end (null)
 * @param sigmaMax                 [sigma_max] likewise, the high end (null)
 */
public record DpmSolverMultistepConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        double[] trainedBetas,
        int solverOrder,
        DpmSolverPredictionType predictionType,
        boolean thresholding,
        double dynamicThresholdingRatio,
        double sampleMaxValue,
        DpmSolverAlgorithmType algorithmType,
        DpmSolverSolverType solverType,
        boolean lowerOrderFinal,
        boolean eulerAtFinal,
        boolean useKarrasSigmas,
        boolean useExponentialSigmas,
        boolean useBetaSigmas,
        boolean useLuLambdas,
        boolean useFlowSigmas,
        double flowShift,
        FinalSigmasType finalSigmasType,
        double lambdaMinClipped,
        String varianceType,
        TimestepSpacing timestepSpacing,
        int stepsOffset,
        boolean rescaleBetasZeroSnr,
        boolean useDynamicShifting,
        String timeShiftType,
        Double sigmaMin,
        Double sigmaMax) {

    /** The constructor's keys in diffusers' order, then the two config-file keys diffusers also honours. */
    public static final List<String> KEYS = List.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "solver_order", "prediction_type", "thresholding", "dynamic_thresholding_ratio",
            "sample_max_value", "algorithm_type", "solver_type", "lower_order_final", "euler_at_final",
            "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas", "use_flow_sigmas",
            "flow_shift", "final_sigmas_type", "lambda_min_clipped", "variance_type", "timestep_spacing",
            "steps_offset", "rescale_betas_zero_snr", "use_dynamic_shifting", "time_shift_type", "sigma_min",
            "sigma_max");

    /** Python writes lambda_min_clipped's default as the bare literal -Infinity. */
    private static final JsonMapper MAPPER = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    public DpmSolverMultistepConfig {
        trainedBetas = SchedulerConfigJson.checkedTrainedBetas(numTrainTimesteps, trainedBetas);
        Objects.requireNonNull(betaSchedule, "beta_schedule");
        Objects.requireNonNull(predictionType, "prediction_type");
        Objects.requireNonNull(algorithmType, "algorithm_type");
        Objects.requireNonNull(solverType, "solver_type");
        Objects.requireNonNull(finalSigmasType, "final_sigmas_type");
        Objects.requireNonNull(timestepSpacing, "timestep_spacing");
        Objects.requireNonNull(timeShiftType, "time_shift_type");
        if ((useBetaSigmas ? 1 : 0) + (useExponentialSigmas ? 1 : 0) + (useKarrasSigmas ? 1 : 0) > 1) {
            throw new IllegalArgumentException("Only one of `config.use_beta_sigmas`, `config.use_exponential_sigmas`,"
                    + " `config.use_karras_sigmas` can be used.");
        }
        checkFinalSigmas(algorithmType.configName(), algorithmType, finalSigmasType);
        // diffusers fails with an IndexError on the first step: it keeps solver_order model outputs
        if (solverOrder < 1) throw new IllegalArgumentException("solver_order must be ≥ 1 (1, 2 or 3), got " + solverOrder
                + ": diffusers keeps solver_order past model outputs and fails on the first step without one");
        if (predictionType == DpmSolverPredictionType.FLOW_PREDICTION && !algorithmType.dataPrediction()) {
            DpmSolverPredictionType.fromConfig(predictionType.configName(), algorithmType); // throws diffusers' message
        }
        if (thresholding && !(dynamicThresholdingRatio >= 0 && dynamicThresholdingRatio <= 1)) {
            throw new IllegalArgumentException("dynamic_thresholding_ratio must be in [0, 1] (a quantile), got "
                    + dynamicThresholdingRatio);
        }
        if (Double.isNaN(lambdaMinClipped)) throw new IllegalArgumentException("lambda_min_clipped must not be NaN");
    }

    /** diffusers' check, on the algorithm name as given ("deis" counts as not ++ here, as in diffusers). */
    private static void checkFinalSigmas(String algorithmName, DpmSolverAlgorithmType algorithm, FinalSigmasType finalSigmas) {
        boolean plusPlusName = algorithmName.equals("dpmsolver++") || algorithmName.equals("sde-dpmsolver++");
        if ((!plusPlusName || !algorithm.dataPrediction()) && finalSigmas == FinalSigmasType.ZERO) {
            throw new IllegalArgumentException("`final_sigmas_type` " + finalSigmas.configName() + " is not supported"
                    + " for `algorithm_type` " + algorithmName + ". Please choose `sigma_min` instead.");
        }
    }

    /** diffusers' {@code DPMSolverMultistepScheduler()} defaults. */
    public static DpmSolverMultistepConfig defaults() {
        return new DpmSolverMultistepConfig(1000, 0.0001, 0.02, BetaSchedule.LINEAR, null, 2,
                DpmSolverPredictionType.EPSILON, false, 0.995, 1.0, DpmSolverAlgorithmType.DPMSOLVER_PLUS_PLUS,
                DpmSolverSolverType.MIDPOINT, true, false, false, false, false, false, false, 1.0,
                FinalSigmasType.ZERO, Double.NEGATIVE_INFINITY, null, TimestepSpacing.LINSPACE, 0, false, false,
                "exponential", null, null);
    }

    public static DpmSolverMultistepConfig read(Path schedulerConfigJson) {
        return SchedulerConfigJson.read(MAPPER, schedulerConfigJson, DpmSolverMultistepConfig::fromJson);
    }

    public static DpmSolverMultistepConfig fromJson(JsonNode json) {
        return fromJson(json, "scheduler config");
    }

    /** @param source named in error messages (usually the file) */
    public static DpmSolverMultistepConfig fromJson(JsonNode json, String source) {
        SchedulerConfigReader r = new SchedulerConfigReader(json, source);
        DpmSolverMultistepConfig d = defaults();
        try {
            String algorithmName = r.string("algorithm_type", d.algorithmType.configName());
            DpmSolverAlgorithmType algorithm = DpmSolverAlgorithmType.fromConfig(algorithmName);
            FinalSigmasType finalSigmas = finalSigmasType(r.string("final_sigmas_type", d.finalSigmasType.configName()));
            checkFinalSigmas(algorithmName, algorithm, finalSigmas);
            TrainingKeys<BetaSchedule> t = TrainingKeys.read(r, d.numTrainTimesteps, d.betaStart, d.betaEnd, d.betaSchedule.configName(),
                    DpmSolverMultistepConfig::betaSchedule);
            return new DpmSolverMultistepConfig(
                    t.numTrainTimesteps(), t.betaStart(), t.betaEnd(), t.betaSchedule(), t.trainedBetas(),
                    r.integer("solver_order", d.solverOrder),
                    DpmSolverPredictionType.fromConfig(r.string("prediction_type", d.predictionType.configName()), algorithm),
                    r.bool("thresholding", d.thresholding),
                    r.number("dynamic_thresholding_ratio", d.dynamicThresholdingRatio),
                    r.number("sample_max_value", d.sampleMaxValue),
                    algorithm,
                    DpmSolverSolverType.fromConfig(r.string("solver_type", d.solverType.configName())),
                    r.bool("lower_order_final", d.lowerOrderFinal),
                    r.bool("euler_at_final", d.eulerAtFinal),
                    r.bool("use_karras_sigmas", d.useKarrasSigmas),
                    r.bool("use_exponential_sigmas", d.useExponentialSigmas),
                    r.bool("use_beta_sigmas", d.useBetaSigmas),
                    r.bool("use_lu_lambdas", d.useLuLambdas),
                    r.bool("use_flow_sigmas", d.useFlowSigmas),
                    r.number("flow_shift", d.flowShift),
                    finalSigmas,
                    r.number("lambda_min_clipped", d.lambdaMinClipped),
                    r.string("variance_type", d.varianceType),
                    timestepSpacing(r.string("timestep_spacing", d.timestepSpacing.configName())),
                    r.integer("steps_offset", d.stepsOffset),
                    r.bool("rescale_betas_zero_snr", d.rescaleBetasZeroSnr),
                    r.bool("use_dynamic_shifting", d.useDynamicShifting),
                    r.string("time_shift_type", d.timeShiftType),
                    r.optionalNumber("sigma_min"),
                    r.optionalNumber("sigma_max"));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw SchedulerConfigJson.located(source, e);
        }
    }

    private static BetaSchedule betaSchedule(String name) {
        for (BetaSchedule s : BetaSchedule.values()) if (s.configName().equals(name)) return s;
        throw new IllegalArgumentException(name + " is not implemented for " + DpmSolverAlgorithmType.DIFFUSERS_CLASS);
    }

    private static FinalSigmasType finalSigmasType(String name) {
        for (FinalSigmasType f : FinalSigmasType.values()) if (f.configName().equals(name)) return f;
        throw new IllegalArgumentException("`final_sigmas_type` must be one of 'zero', or 'sigma_min', but got " + name);
    }

    private static TimestepSpacing timestepSpacing(String name) {
        for (TimestepSpacing s : TimestepSpacing.values()) if (s.configName().equals(name)) return s;
        throw new IllegalArgumentException(name + " is not supported. Please make sure to choose one of 'linspace',"
                + " 'leading' or 'trailing'.");
    }

    /** This config as diffusers' JSON keys (every constructor key; sigma_min/sigma_max only when set). */
    public ObjectNode toJson() {
        ObjectNode o = SchedulerConfigJson.trainingJson(numTrainTimesteps, betaStart, betaEnd, betaSchedule.configName(),
                trainedBetas);
        o.put("solver_order", solverOrder);
        o.put("prediction_type", predictionType.configName());
        o.put("thresholding", thresholding);
        o.put("dynamic_thresholding_ratio", dynamicThresholdingRatio);
        o.put("sample_max_value", sampleMaxValue);
        o.put("algorithm_type", algorithmType.configName());
        o.put("solver_type", solverType.configName());
        o.put("lower_order_final", lowerOrderFinal);
        o.put("euler_at_final", eulerAtFinal);
        o.put("use_karras_sigmas", useKarrasSigmas);
        o.put("use_exponential_sigmas", useExponentialSigmas);
        o.put("use_beta_sigmas", useBetaSigmas);
        o.put("use_lu_lambdas", useLuLambdas);
        o.put("use_flow_sigmas", useFlowSigmas);
        o.put("flow_shift", flowShift);
        o.put("final_sigmas_type", finalSigmasType.configName());
        o.put("lambda_min_clipped", lambdaMinClipped);
        o.put("variance_type", varianceType);
        o.put("timestep_spacing", timestepSpacing.configName());
        o.put("steps_offset", stepsOffset);
        o.put("rescale_betas_zero_snr", rescaleBetasZeroSnr);
        o.put("use_dynamic_shifting", useDynamicShifting);
        o.put("time_shift_type", timeShiftType);
        if (sigmaMin != null) o.put("sigma_min", sigmaMin);
        if (sigmaMax != null) o.put("sigma_max", sigmaMax);
        return o;
    }

    /** {@link #withOverrides(Map, String)} naming "scheduler overrides" in errors. */
    public DpmSolverMultistepConfig withOverrides(Map<String, ?> overrides) {
        return withOverrides(overrides, "scheduler overrides");
    }

    /** This config with some keys replaced, parsed as a config file is: {@link SchedulerConfigJson#withOverrides}. */
    public DpmSolverMultistepConfig withOverrides(Map<String, ?> overrides, String source) {
        return SchedulerConfigJson.withOverrides(toJson(), overrides, source, KEYS, "DPMSolverMultistepScheduler", MAPPER,
                DpmSolverMultistepConfig::fromJson);
    }

    /** Whether the model output carries a variance (diffusers then keeps its first 3 channels for ε). */
    public boolean learnedVariance() {
        return "learned".equals(varianceType) || "learned_range".equals(varianceType);
    }

    /** The explicit betas, or null (a copy: the record stays immutable). */
    @Override
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }

    @Override
    public boolean equals(Object o) { return o instanceof DpmSolverMultistepConfig c && toJson().equals(c.toJson()); }

    @Override
    public int hashCode() { return toJson().hashCode(); }

    @Override
    public String toString() { return "DpmSolverMultistepConfig" + toJson(); }
}
