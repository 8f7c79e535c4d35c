package dev.i2vgen.sampler.scheduler;

import java.util.Map;

/**
 * One-line help for each scheduler config key, condensed from the config records' {@code @param} lines (defaults
 * are left out: {@link Schedulers#options} takes them from each config's {@code defaults()}). A key means the same
 * in every scheduler unless the class is listed for it in {@link #BY_CLASS}; {@code SchedulersTest} checks that
 * every key of every class has a line, so a key added to a config without one fails there.
 */
final class SchedulerOptionDescriptions {

    private static final Map<String, String> COMMON = Map.ofEntries(
            Map.entry("num_train_timesteps", "training steps T"),
            Map.entry("beta_start", "β at the first training step (unused by squaredcos_cap_v2)"),
            Map.entry("beta_end", "β at the last training step (unused by squaredcos_cap_v2)"),
            Map.entry("beta_schedule", "layout of the training betas: linear, scaled_linear or squaredcos_cap_v2"),
            Map.entry("trained_betas", "explicit betas replacing the schedule, or null"),
            Map.entry("prediction_type", "what the model predicts: epsilon, v_prediction or sample"),
            Map.entry("clip_sample", "clamp the predicted x0 to ±clip_sample_range"),
            Map.entry("clip_sample_range", "the bound of clip_sample"),
            Map.entry("set_alpha_to_one", "ᾱ after the last step: 1, else ᾱ_0"),
            Map.entry("thresholding", "dynamic thresholding of the predicted x0"),
            Map.entry("dynamic_thresholding_ratio", "quantile of |x0| used as the threshold"),
            Map.entry("sample_max_value", "upper bound of the threshold"),
            Map.entry("timestep_spacing", "how set_timesteps picks the timesteps: leading, trailing or linspace"),
            Map.entry("steps_offset", "added to \"leading\" timesteps"),
            Map.entry("rescale_betas_zero_snr", "rescale the betas to zero terminal SNR"),
            Map.entry("use_karras_sigmas", "Karras et al. ρ = 7 sigmas"),
            Map.entry("use_exponential_sigmas", "sigmas evenly spaced in log σ"),
            Map.entry("use_beta_sigmas", "sigmas at Beta(0.6, 0.6) quantiles"),
            Map.entry("sigma_min", "low end of the Karras/exponential/beta sigmas, or null for the schedule's"),
            Map.entry("sigma_max", "high end of the Karras/exponential/beta sigmas, or null for the schedule's"),
            Map.entry("final_sigmas_type", "σ after the last step: zero or sigma_min"),
            Map.entry("interpolation_type", "sigmas between training steps: linear or log_linear"),
            Map.entry("timestep_type", "timesteps the model sees: discrete, or continuous (0.25·ln σ, with v_prediction)"),
            Map.entry("use_flow_sigmas", "flow-matching sigmas, α = 1 − σ"),
            Map.entry("flow_shift", "shift s of the flow sigmas: σ' = s·σ/(1 + (s − 1)·σ)"),
            Map.entry("use_dynamic_shifting", "shift the flow sigmas by set_timesteps' μ"),
            Map.entry("euler_at_final", "first order for the last step"),
            Map.entry("use_lu_lambdas", "log σ evenly spaced (Lu et al.'s uniform logSNR)"),
            Map.entry("lambda_min_clipped", "timesteps whose λ is below it are left out"),
            Map.entry("predict_x0", "update on the predicted x0 rather than on ε"),
            Map.entry("disable_corrector", "step indices whose following step skips UniC"),
            Map.entry("solver_p", "another scheduler as UniPC's predictor: must be null here"),
            Map.entry("shift_terminal", "the flow sigmas are stretched to end at this value, or null"),
            Map.entry("original_inference_steps", "length of the distillation schedule the timesteps come from"),
            Map.entry("timestep_scaling", "t's factor in the boundary-condition scalings"));

    /** Keys whose meaning or choices differ in one scheduler, by diffusers class name. */
    private static final Map<String, Map<String, String>> BY_CLASS = Map.of(
            "DDPMScheduler", Map.of(
                    "beta_schedule", "layout of the training betas: linear, scaled_linear, squaredcos_cap_v2,"
                            + " sigmoid or laplace",
                    "variance_type", "the step's noise variance: fixed_small, fixed_small_log, fixed_large,"
                            + " fixed_large_log, learned or learned_range"),
            "EulerDiscreteScheduler", Map.of(
                    "prediction_type", "what the model predicts: epsilon, v_prediction or sample"
                            + " (\"original_sample\" reads as sample)"),
            "EulerAncestralDiscreteScheduler", Map.of(
                    "prediction_type", "what the model predicts: epsilon or v_prediction (diffusers' step refuses"
                            + " sample)"),
            "DPMSolverMultistepScheduler", Map.of(
                    "prediction_type", "what the model predicts: epsilon, v_prediction, sample or flow_prediction",
                    "solver_order", "1, 2 or 3 (larger runs as 3)",
                    "algorithm_type", "dpmsolver++, sde-dpmsolver++, dpmsolver or sde-dpmsolver (\"deis\" reads as"
                            + " dpmsolver++)",
                    "solver_type", "second-order update: midpoint or heun",
                    "lower_order_final", "lower orders for the last steps when there are fewer than 15",
                    "final_sigmas_type", "σ after the last step: zero (++ algorithms only) or sigma_min",
                    "variance_type", "\"learned\"/\"learned_range\" keep the first 3 channels of an ε output;"
                            + " other values have no effect",
                    "time_shift_type", "time shift with set_timesteps' μ: only exponential",
                    "sigma_min", "low end of the Karras/exponential/beta sigmas, or null (kept from a config file"
                            + " as diffusers does)",
                    "sigma_max", "high end of the Karras/exponential/beta sigmas, or null (kept from a config file"
                            + " as diffusers does)"),
            "UniPCMultistepScheduler", Map.of(
                    "prediction_type", "what the model predicts: epsilon, v_prediction, sample or flow_prediction",
                    "solver_order", "UniP's order p ≥ 1; UniC makes the step order p + 1",
                    "solver_type", "B(h): bh1 or bh2 (midpoint, heun, logrho read as bh2)",
                    "lower_order_final", "lower the order over the last steps",
                    "time_shift_type", "time shift with set_timesteps' μ: exponential or linear"),
            "LCMScheduler", Map.of(
                    "set_alpha_to_one", "ᾱ for a negative next timestep: 1, else ᾱ_0 (custom timesteps only)",
                    "steps_offset", "stored only: LCM's set_timesteps does not read it",
                    "timestep_spacing", "stored only: LCM's set_timesteps does not read it"));

    private SchedulerOptionDescriptions() {}

    /** The help line for {@code key} of {@code className}. */
    static String of(String className, String key) {
        String specific = BY_CLASS.getOrDefault(className, Map.of()).get(key);
        if (specific != null) return specific;
        String common = COMMON.get(key);
        if (common == null) throw new IllegalStateException("no description for " + className + " option '" + key
                + "': add one to SchedulerOptionDescriptions");
        return common;
    }
}
