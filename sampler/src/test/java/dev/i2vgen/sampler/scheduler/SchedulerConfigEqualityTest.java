package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

import static java.util.Map.entry;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The config records' value semantics, which go through their JSON form ({@link SchedulerConfigJson}): a change of
 * any one key makes a config unequal, trained_betas count by content, and equal configs hash alike.
 */
class SchedulerConfigEqualityTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /**
     * One or two values of each key: the change tried is the first one that differs from a config's default and that
     * the config keeps as given (UniPC reads DPM-Solver's "heun" as "bh2").
     */
    private static final Map<String, List<?>> OTHER_VALUES = Map.ofEntries(
            entry("num_train_timesteps", List.of(500)),
            entry("beta_start", List.of(0.0002)),
            entry("beta_end", List.of(0.03)),
            entry("beta_schedule", List.of("scaled_linear", "linear")),
            entry("prediction_type", List.of("v_prediction")),
            entry("timestep_spacing", List.of("trailing")),
            entry("steps_offset", List.of(1)),
            entry("rescale_betas_zero_snr", List.of(true)),
            entry("clip_sample", List.of(true, false)),
            entry("clip_sample_range", List.of(2.0)),
            entry("set_alpha_to_one", List.of(false)),
            entry("thresholding", List.of(true)),
            entry("dynamic_thresholding_ratio", List.of(0.9)),
            entry("sample_max_value", List.of(2.0)),
            entry("variance_type", List.of("fixed_large", "learned_range")),
            entry("original_inference_steps", List.of(25)),
            entry("timestep_scaling", List.of(5.0)),
            entry("interpolation_type", List.of("log_linear")),
            entry("use_karras_sigmas", List.of(true)),
            entry("use_exponential_sigmas", List.of(true)),
            entry("use_beta_sigmas", List.of(true)),
            entry("use_lu_lambdas", List.of(true)),
            entry("use_flow_sigmas", List.of(true)),
            entry("sigma_min", List.of(0.1)),
            entry("sigma_max", List.of(10.0)),
            entry("timestep_type", List.of("continuous")),
            entry("final_sigmas_type", List.of("sigma_min")),
            entry("solver_order", List.of(3)),
            entry("algorithm_type", List.of("sde-dpmsolver++")),
            entry("solver_type", List.of("heun", "bh1")),
            entry("lower_order_final", List.of(false)),
            entry("euler_at_final", List.of(true)),
            entry("flow_shift", List.of(3.0)),
            entry("lambda_min_clipped", List.of(-5.1)),
            entry("use_dynamic_shifting", List.of(true)),
            entry("time_shift_type", List.of("linear")),
            entry("predict_x0", List.of(false)),
            entry("disable_corrector", List.of(List.of(1))),
            entry("shift_terminal", List.of(0.5)));

    /** Keys that a config takes only with another one set: changed from a config with that one set. */
    private static final Map<String, Map<String, ?>> REQUIRES = Map.of("shift_terminal", Map.of("use_flow_sigmas", true));

    @Test
    void ddim() { assertValueSemantics(DdimConfig.defaults(), DdimConfig.KEYS, DdimConfig::withOverrides, DdimConfig::toJson); }

    @Test
    void ddpm() { assertValueSemantics(DdpmConfig.defaults(), DdpmConfig.KEYS, DdpmConfig::withOverrides, DdpmConfig::toJson); }

    @Test
    void lcm() { assertValueSemantics(LcmConfig.defaults(), LcmConfig.KEYS, LcmConfig::withOverrides, LcmConfig::toJson); }

    @Test
    void eulerAncestral() {
        assertValueSemantics(EulerAncestralDiscreteConfig.defaults(), EulerAncestralDiscreteConfig.KEYS,
                EulerAncestralDiscreteConfig::withOverrides, EulerAncestralDiscreteConfig::toJson);
    }

    @Test
    void euler() {
        assertValueSemantics(EulerDiscreteConfig.defaults(), EulerDiscreteConfig.KEYS, EulerDiscreteConfig::withOverrides,
                EulerDiscreteConfig::toJson);
    }

    @Test
    void dpmSolver() {
        assertValueSemantics(DpmSolverMultistepConfig.defaults(), DpmSolverMultistepConfig.KEYS,
                DpmSolverMultistepConfig::withOverrides, DpmSolverMultistepConfig::toJson);
    }

    /** solver_p has no other value: the port refuses anything but null. */
    @Test
    void uniPc() {
        List<String> keys = UniPcMultistepConfig.KEYS.stream().filter(k -> !k.equals("solver_p")).toList();
        assertValueSemantics(UniPcMultistepConfig.defaults(), keys, UniPcMultistepConfig::withOverrides,
                UniPcMultistepConfig::toJson);
    }

    private static <C> void assertValueSemantics(C defaults, List<String> keys,
                                                 BiFunction<C, Map<String, ?>, C> withOverrides,
                                                 Function<C, JsonNode> toJson) {
        C copy = withOverrides.apply(defaults, Map.of());
        assertNotSame(defaults, copy);
        assertEquals(defaults, copy);
        assertEquals(defaults.hashCode(), copy.hashCode());

        for (String key : keys) {
            if (key.equals("trained_betas")) continue;
            List<?> candidates = OTHER_VALUES.get(key);
            assertNotNull(candidates, "no other value listed for " + key);
            C base = withOverrides.apply(defaults, REQUIRES.getOrDefault(key, Map.of()));
            JsonNode baseValue = toJson.apply(base).get(key);
            C changed = null;
            for (Object value : candidates) {
                JsonNode written = MAPPER.valueToTree(value);
                if (written.equals(baseValue)) continue;
                C candidate = withOverrides.apply(base, Map.of(key, value));
                if (written.equals(toJson.apply(candidate).get(key))) {
                    changed = candidate;
                    break;
                }
            }
            assertNotNull(changed, key + ": no listed value is kept as given and differs from the default");
            assertNotEquals(base, changed, key);
            C typed = withOverrides.apply(base, Map.of(key, toJson.apply(changed).get(key).toString()));
            assertEquals(changed, typed, key + ", given again as typed on a command line");
            assertEquals(changed.hashCode(), typed.hashCode(), key);
        }

        // trained_betas by content: separate equal arrays make equal configs, one other value an unequal one
        Function<double[], C> withBetas = b -> withOverrides.apply(defaults, Map.of("num_train_timesteps", 4, "trained_betas", b));
        C betas = withBetas.apply(new double[]{0.1, 0.2, 0.3, 0.4});
        C sameBetas = withBetas.apply(new double[]{0.1, 0.2, 0.3, 0.4});
        C otherBetas = withBetas.apply(new double[]{0.1, 0.2, 0.3, 0.5});
        assertEquals(betas, sameBetas);
        assertEquals(betas.hashCode(), sameBetas.hashCode());
        assertNotEquals(betas, otherBetas);
        assertNotEquals(defaults, betas);
    }
}
