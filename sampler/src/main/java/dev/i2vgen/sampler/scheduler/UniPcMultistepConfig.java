package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Every option of diffusers' UniPCMultistepScheduler, as stored in {@code scheduler/scheduler_config.json}
 * (diffusers' key in brackets, default in parentheses); absent or null keys take diffusers' constructor defaults,
 * unknown keys (such as {@code _class_name}) are ignored as diffusers does. {@code solver_p} (another scheduler
 * object as the predictor) can only be null here.
 *
 * @param numTrainTimesteps        [num_train_timesteps] training steps T (1000)
 * @param betaStart                [beta_start] (0.0001)
 * @param betaEnd                  [beta_end] (0.02)
 * @param betaSchedule             [beta_schedule] (linear)
 * @param trainedBetas             [trained_betas] explicit betas replacing the schedule, or null (null)
 * @param solverOrder              [solver_order] UniP's order p ≥ 1; UniC makes the step order p + 1 (2)
 * @param predictionType           [prediction_type] (epsilon)
 * @param thresholding             [thresholding] dynamic thresholding of the predicted x0 (false)
 * @param dynamicThresholdingRatio [dynamic_thresholding_ratio] the |x0| quantile used as threshold (0.995)
 * @param sampleMaxValue           [sample_max_value] the largest threshold (1.0)
 * @param predictX0                [predict_x0] update on the predicted x0 (true) rather than on ε (true)
 * @param solverType               [solver_type] B(h) (bh2; "midpoint", "heun", "logrho" read as bh2)
 * @param lowerOrderFinal          [lower_order_final] lower the order over the last steps (true)
 * @param disableCorrector         [disable_corrector] step indices whose following step skips UniC ([])
 * @param useKarrasSigmas          [use_karras_sigmas] Karras et al. ρ = 7 sigmas (false)
 * @param useExponentialSigmas     [use_exponential_sigmas] sigmas evenly spaced in log σ (false)
 * @param useBetaSigmas            [use_beta_sigmas] sigmas at Beta(0.6, 0.6) quantiles (false)
 * @param useFlowSigmas            [use_flow_sigmas] rectified-flow sigmas in (0, 1], α = 1 − σ (false)
 * @param flowShift                [flow_shift] σ' = s·σ/(1 + (s − 1)·σ) of flow sigmas (1.0)
 * @param timestepSpacing          [timestep_spacing] (linspace)
 * @param stepsOffset              [steps_offset] added to "leading" timesteps (0)
 * @param finalSigmasType          [final_sigmas_type] (zero)
 * @param rescaleBetasZeroSnr      [rescale_betas_zero_snr] (false)
 * @param useDynamicShifting       [use_dynamic_shifting] shift flow sigmas by set_timesteps' μ instead (false)
 * @param timeShiftType            [time_shift_type] (exponential)
 * @param sigmaMin                 [sigma_min] range of Karras/exponential/beta sigmas, or null for the schedule's (null)
 * @param sigmaMax                 [sigma_max] likewise (null)
 * @param shiftTerminal            [shift_terminal] stretch flow sigmas to end at 1 − … this value, or null (null)
 */
public record UniPcMultistepConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        double[] trainedBetas,
        int solverOrder,
        UniPcPredictionType predictionType,
        boolean thresholding,
        double dynamicThresholdingRatio,
        double sampleMaxValue,
        boolean predictX0,
        UniPcSolverType solverType,
        boolean lowerOrderFinal,
        List<Integer> disableCorrector,
        boolean useKarrasSigmas,
        boolean useExponentialSigmas,
        boolean useBetaSigmas,
        boolean useFlowSigmas,
        double flowShift,
        TimestepSpacing timestepSpacing,
        int stepsOffset,
        FinalSigmasType finalSigmasType,
        boolean rescaleBetasZeroSnr,
        boolean useDynamicShifting,
        UniPcTimeShiftType timeShiftType,
        Double sigmaMin,
        Double sigmaMax,
        Double shiftTerminal) {

    /** The config keys, in diffusers' constructor order (solver_p included: it must be null). */
    public static final List<String> KEYS = List.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "solver_order", "prediction_type", "thresholding", "dynamic_thresholding_ratio",
            "sample_max_value", "predict_x0", "solver_type", "lower_order_final", "disable_corrector", "solver_p",
            "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "use_flow_sigmas", "flow_shift",
            "timestep_spacing", "steps_offset", "final_sigmas_type", "rescale_betas_zero_snr", "use_dynamic_shifting",
            "time_shift_type", "sigma_min", "sigma_max", "shift_terminal");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public UniPcMultistepConfig {
        trainedBetas = SchedulerConfigJson.checkedTrainedBetas(numTrainTimesteps, trainedBetas);
        // diffusers keeps solver_order model outputs; 0 would fail on the first step
        if (solverOrder < 1) throw new IllegalArgumentException("solver_order must be a positive integer, got " + solverOrder);
        Objects.requireNonNull(betaSchedule, "beta_schedule");
        Objects.requireNonNull(predictionType, "prediction_type");
        Objects.requireNonNull(solverType, "solver_type");
        Objects.requireNonNull(timestepSpacing, "timestep_spacing");
        Objects.requireNonNull(finalSigmasType, "final_sigmas_type");
        Objects.requireNonNull(timeShiftType, "time_shift_type");
        disableCorrector = List.copyOf(Objects.requireNonNull(disableCorrector, "disable_corrector"));
        if ((useKarrasSigmas ? 1 : 0) + (useExponentialSigmas ? 1 : 0) + (useBetaSigmas ? 1 : 0) > 1) {
            throw new IllegalArgumentException("Only one of `config.use_beta_sigmas`, `config.use_exponential_sigmas`,"
                    + " `config.use_karras_sigmas` can be used.");
        }
        if (shiftTerminal != null && !useFlowSigmas) {
            throw new IllegalArgumentException("`shift_terminal` is only supported when `use_flow_sigmas=True`.");
        }
        // torch.quantile's own limit, checked here rather than at the first thresholded step
        if (thresholding && !(dynamicThresholdingRatio >= 0 && dynamicThresholdingRatio <= 1)) {
            throw new IllegalArgumentException("dynamic_thresholding_ratio must be in [0, 1] (torch.quantile's q), got "
                    + dynamicThresholdingRatio);
        }
        if (sigmaMin != null && !(sigmaMin >= 0 && sigmaMin < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("sigma_min must be a finite number ≥ 0 or null, got " + sigmaMin);
        }
        if (sigmaMax != null && !(sigmaMax > 0 && sigmaMax < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("sigma_max must be a finite number > 0 or null, got " + sigmaMax);
        }
    }

    /** diffusers' {@code UniPCMultistepScheduler()} defaults. */
    public static UniPcMultistepConfig defaults() {
        return new UniPcMultistepConfig(1000, 0.0001, 0.02, BetaSchedule.LINEAR, null, 2, UniPcPredictionType.EPSILON,
                false, 0.995, 1.0, true, UniPcSolverType.BH2, true, List.of(), false, false, false, false, 1.0,
                TimestepSpacing.LINSPACE, 0, FinalSigmasType.ZERO, false, false, UniPcTimeShiftType.EXPONENTIAL,
                null, null, null);
    }

    public static UniPcMultistepConfig read(Path schedulerConfigJson) {
        return SchedulerConfigJson.read(MAPPER, schedulerConfigJson, UniPcMultistepConfig::fromJson);
    }

    public static UniPcMultistepConfig fromJson(JsonNode json) {
        return fromJson(json, "scheduler config");
    }

    /** @param source named in error messages (usually the file) */
    public static UniPcMultistepConfig fromJson(JsonNode json, String source) {
        SchedulerConfigReader r = new SchedulerConfigReader(json, source);
        UniPcMultistepConfig d = defaults();
        JsonNode solverP = json.get("solver_p");
        if (solverP != null && !solverP.isNull()) throw new IllegalArgumentException(source + ": 'solver_p' (another"
                + " scheduler as UniPC's predictor, i.e. solver_p + UniC) is not supported by this port: it must be null, got " + solverP);
        String solverName = r.string("solver_type", d.solverType.configName());
        UniPcSolverType solverType = UniPcSolverType.fromConfig(solverName);
        if (solverType == null) throw r.wrong("solver_type", "one of 'bh1', 'bh2' (or 'midpoint', 'heun', 'logrho',"
                + " which diffusers maps to 'bh2')", "'" + solverName + "'");
        try {
            TrainingKeys<BetaSchedule> t = TrainingKeys.read(r, d.numTrainTimesteps, d.betaStart, d.betaEnd, d.betaSchedule);
            return new UniPcMultistepConfig(
                    t.numTrainTimesteps(), t.betaStart(), t.betaEnd(), t.betaSchedule(), t.trainedBetas(),
                    r.integer("solver_order", d.solverOrder),
                    r.choice("prediction_type", d.predictionType, UniPcPredictionType.values(), UniPcPredictionType::configName),
                    r.bool("thresholding", d.thresholding),
                    r.number("dynamic_thresholding_ratio", d.dynamicThresholdingRatio),
                    r.number("sample_max_value", d.sampleMaxValue),
                    r.bool("predict_x0", d.predictX0),
                    solverType,
                    r.bool("lower_order_final", d.lowerOrderFinal),
                    integers(r, "disable_corrector", d.disableCorrector),
                    r.bool("use_karras_sigmas", d.useKarrasSigmas),
                    r.bool("use_exponential_sigmas", d.useExponentialSigmas),
                    r.bool("use_beta_sigmas", d.useBetaSigmas),
                    r.bool("use_flow_sigmas", d.useFlowSigmas),
                    r.number("flow_shift", d.flowShift),
                    r.choice("timestep_spacing", d.timestepSpacing, TimestepSpacing.values(), TimestepSpacing::configName),
                    r.integer("steps_offset", d.stepsOffset),
                    r.choice("final_sigmas_type", d.finalSigmasType, FinalSigmasType.values(), FinalSigmasType::configName),
                    r.bool("rescale_betas_zero_snr", d.rescaleBetasZeroSnr),
                    r.bool("use_dynamic_shifting", d.useDynamicShifting),
                    r.choice("time_shift_type", d.timeShiftType, UniPcTimeShiftType.values(), UniPcTimeShiftType::configName),
                    r.optionalNumber("sigma_min"),
                    r.optionalNumber("sigma_max"),
                    r.optionalNumber("shift_terminal"));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw SchedulerConfigJson.located(source, e);
        }
    }

    /** A list of integers (diffusers' {@code list[int]}), or the default when absent. */
    private static List<Integer> integers(SchedulerConfigReader r, String key, List<Integer> dflt) {
        JsonNode n = r.json().get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isArray()) throw r.wrong(key, "a list of integers", n);
        List<Integer> out = new ArrayList<>(n.size());
        for (int i = 0; i < n.size(); i++) {
            JsonNode e = n.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) throw r.wrong(key + "[" + i + "]", "an integer", e);
            out.add(e.intValue());
        }
        return out;
    }

    /** This config as diffusers' JSON keys (every key, null where unset). */
    public ObjectNode toJson() {
        ObjectNode o = SchedulerConfigJson.trainingJson(numTrainTimesteps, betaStart, betaEnd, betaSchedule.configName(),
                trainedBetas);
        o.put("solver_order", solverOrder);
        o.put("prediction_type", predictionType.configName());
        o.put("thresholding", thresholding);
        o.put("dynamic_thresholding_ratio", dynamicThresholdingRatio);
        o.put("sample_max_value", sampleMaxValue);
        o.put("predict_x0", predictX0);
        o.put("solver_type", solverType.configName());
        o.put("lower_order_final", lowerOrderFinal);
        ArrayNode disabled = o.putArray("disable_corrector");
        disableCorrector.forEach(disabled::add);
        o.putNull("solver_p");
        o.put("use_karras_sigmas", useKarrasSigmas);
        o.put("use_exponential_sigmas", useExponentialSigmas);
        o.put("use_beta_sigmas", useBetaSigmas);
        o.put("use_flow_sigmas", useFlowSigmas);
        o.put("flow_shift", flowShift);
        o.put("timestep_spacing", timestepSpacing.configName());
        o.put("steps_offset", stepsOffset);
        o.put("final_sigmas_type", finalSigmasType.configName());
        o.put("rescale_betas_zero_snr", rescaleBetasZeroSnr);
        o.put("use_dynamic_shifting", useDynamicShifting);
        o.put("time_shift_type", timeShiftType.configName());
        o.put("sigma_min", sigmaMin);
        o.put("sigma_max", sigmaMax);
        o.put("shift_terminal", shiftTerminal);
        return o;
    }

    /** {@link #withOverrides(Map, String)} naming "scheduler overrides" in errors. */
    public UniPcMultistepConfig withOverrides(Map<String, ?> overrides) {
        return withOverrides(overrides, "scheduler overrides");
    }

    /** This config with some keys replaced, parsed as a config file is: {@link SchedulerConfigJson#withOverrides}. */
    public UniPcMultistepConfig withOverrides(Map<String, ?> overrides, String source) {
        return SchedulerConfigJson.withOverrides(toJson(), overrides, source, KEYS, "UniPCMultistepScheduler", MAPPER,
                UniPcMultistepConfig::fromJson);
    }

    /** Whether UniC is skipped at the step after step {@code stepIndex} (diffusers' {@code disable_corrector} test). */
    public boolean correctorDisabledAfter(int stepIndex) { return disableCorrector.contains(stepIndex); }

    /** The explicit betas, or null (a copy: the record stays immutable). */
    @Override
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }

    @Override
    public boolean equals(Object o) { return o instanceof UniPcMultistepConfig c && toJson().equals(c.toJson()); }

    @Override
    public int hashCode() { return toJson().hashCode(); }

    @Override
    public String toString() { return "UniPcMultistepConfig" + toJson(); }
}
