package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Reading, validating and overriding DPMSolverMultistepScheduler configs. */
class DpmSolverMultistepConfigTest {
    static final Path I2VGEN_XL = Path.of("src/test/resources/i2vgen-xl-scheduler_config.json");
    static final JsonMapper MAPPER = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    static JsonNode json(String text) throws IOException {
        return MAPPER.readTree(text);
    }

    static IllegalArgumentException parseError(String text) {
        return assertThrows(IllegalArgumentException.class, () -> DpmSolverMultistepConfig.fromJson(json(text), "cfg.json"));
    }

    @Test
    void emptyConfigTakesDiffusersDefaults() throws Exception {
        DpmSolverMultistepConfig c = DpmSolverMultistepConfig.fromJson(json(
                "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"clip_sample\": false, \"set_alpha_to_one\": true}"));
        assertEquals(DpmSolverMultistepConfig.defaults(), c);
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(0.0001, c.betaStart());
        assertEquals(0.02, c.betaEnd());
        assertEquals(BetaSchedule.LINEAR, c.betaSchedule());
        assertNull(c.trainedBetas());
        assertEquals(2, c.solverOrder());
        assertEquals(DpmSolverPredictionType.EPSILON, c.predictionType());
        assertFalse(c.thresholding());
        assertEquals(0.995, c.dynamicThresholdingRatio());
        assertEquals(1.0, c.sampleMaxValue());
        assertEquals(DpmSolverAlgorithmType.DPMSOLVER_PLUS_PLUS, c.algorithmType());
        assertEquals(DpmSolverSolverType.MIDPOINT, c.solverType());
        assertTrue(c.lowerOrderFinal());
        assertFalse(c.eulerAtFinal());
        assertFalse(c.useKarrasSigmas() || c.useExponentialSigmas() || c.useBetaSigmas() || c.useLuLambdas() || c.useFlowSigmas());
        assertEquals(1.0, c.flowShift());
        assertEquals(FinalSigmasType.ZERO, c.finalSigmasType());
        assertEquals(Double.NEGATIVE_INFINITY, c.lambdaMinClipped());
        assertNull(c.varianceType());
        assertEquals(TimestepSpacing.LINSPACE, c.timestepSpacing());
        assertEquals(0, c.stepsOffset());
        assertFalse(c.rescaleBetasZeroSnr());
        assertFalse(c.useDynamicShifting());
        assertEquals("exponential", c.timeShiftType());
        assertNull(c.sigmaMin());
        assertNull(c.sigmaMax());
        // null means "diffusers' default", as None does in a diffusers config
        assertEquals(c, DpmSolverMultistepConfig.fromJson(json("{\"solver_order\": null, \"lambda_min_clipped\": null,"
                + " \"variance_type\": null, \"trained_betas\": null}")));
        assertEquals(DpmSolverMultistepConfig.class.getRecordComponents().length, DpmSolverMultistepConfig.KEYS.size(),
                "one key per option");
    }

    @Test
    void releasedI2vgenXlConfigReadsWithItsDdimKeysIgnored() {
        DpmSolverMultistepConfig c = DpmSolverMultistepConfig.read(I2VGEN_XL);
        assertEquals(BetaSchedule.SQUAREDCOS_CAP_V2, c.betaSchedule());
        assertTrue(c.rescaleBetasZeroSnr());
        assertEquals(DpmSolverPredictionType.V_PREDICTION, c.predictionType());
        assertEquals(TimestepSpacing.LEADING, c.timestepSpacing());
        assertEquals(1, c.stepsOffset());
        assertEquals(DpmSolverAlgorithmType.DPMSOLVER_PLUS_PLUS, c.algorithmType());
        assertEquals(c, DpmSolverMultistepConfig.fromJson(c.toJson()), "toJson round trip");
    }

    @Test
    void everyOptionIsRead() throws Exception {
        DpmSolverMultistepConfig c = DpmSolverMultistepConfig.fromJson(json("""
                {"num_train_timesteps": 4, "beta_schedule": "scaled_linear", "beta_start": 0.001, "beta_end": 0.01,
                 "trained_betas": [0.1, 0.2, 0.3, 0.4], "solver_order": 3, "prediction_type": "flow_prediction",
                 "thresholding": true, "dynamic_thresholding_ratio": 0.9, "sample_max_value": 2.5,
                 "algorithm_type": "sde-dpmsolver++", "solver_type": "heun", "lower_order_final": false,
                 "euler_at_final": true, "use_lu_lambdas": true, "use_flow_sigmas": true, "flow_shift": 3.0,
                 "final_sigmas_type": "sigma_min", "lambda_min_clipped": -5.1, "variance_type": "learned_range",
                 "timestep_spacing": "trailing", "steps_offset": 2, "rescale_betas_zero_snr": true,
                 "use_dynamic_shifting": true, "time_shift_type": "exponential", "use_beta_sigmas": true,
                 "sigma_min": 0.002, "sigma_max": 700.0}"""));
        assertEquals(4, c.numTrainTimesteps());
        assertEquals(BetaSchedule.SCALED_LINEAR, c.betaSchedule());
        assertArrayEquals(new double[]{0.1, 0.2, 0.3, 0.4}, c.trainedBetas());
        assertEquals(3, c.solverOrder());
        assertEquals(DpmSolverPredictionType.FLOW_PREDICTION, c.predictionType());
        assertTrue(c.thresholding());
        assertEquals(0.9, c.dynamicThresholdingRatio());
        assertEquals(2.5, c.sampleMaxValue());
        assertEquals(DpmSolverAlgorithmType.SDE_DPMSOLVER_PLUS_PLUS, c.algorithmType());
        assertEquals(DpmSolverSolverType.HEUN, c.solverType());
        assertFalse(c.lowerOrderFinal());
        assertTrue(c.eulerAtFinal() && c.useLuLambdas() && c.useFlowSigmas() && c.useBetaSigmas());
        assertEquals(3.0, c.flowShift());
        assertEquals(FinalSigmasType.SIGMA_MIN, c.finalSigmasType());
        assertEquals(-5.1, c.lambdaMinClipped());
        assertTrue(c.learnedVariance());
        assertEquals(TimestepSpacing.TRAILING, c.timestepSpacing());
        assertEquals(2, c.stepsOffset());
        assertTrue(c.rescaleBetasZeroSnr() && c.useDynamicShifting());
        assertEquals(0.002, c.sigmaMin());
        assertEquals(700.0, c.sigmaMax());
        assertEquals(c, DpmSolverMultistepConfig.fromJson(c.toJson()), "toJson round trip");
        c.trainedBetas()[0] = 9;
        assertEquals(0.1, c.trainedBetas()[0], "the record stays immutable");
    }

    @Test
    void pythonsInfinityLiteralIsRead(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("scheduler_config.json");
        Files.writeString(file, "{\"lambda_min_clipped\": -Infinity, \"solver_order\": 3}");
        assertEquals(Double.NEGATIVE_INFINITY, DpmSolverMultistepConfig.read(file).lambdaMinClipped());
        UncheckedIOException missing = assertThrows(UncheckedIOException.class,
                () -> DpmSolverMultistepConfig.read(dir.resolve("absent.json")));
        assertTrue(missing.getMessage().contains("absent.json"));
    }

    /** diffusers' renames: DEIS's algorithm and UniPC/DEIS solver types run as dpmsolver++ / midpoint. */
    @Test
    void otherSchedulersNamesReadAsDiffusersRegistersThem() throws Exception {
        DpmSolverMultistepConfig deis = DpmSolverMultistepConfig.fromJson(json(
                "{\"algorithm_type\": \"deis\", \"final_sigmas_type\": \"sigma_min\"}"));
        assertEquals(DpmSolverAlgorithmType.DPMSOLVER_PLUS_PLUS, deis.algorithmType());
        for (String name : new String[]{"logrho", "bh1", "bh2"}) {
            assertEquals(DpmSolverSolverType.MIDPOINT, DpmSolverMultistepConfig.fromJson(json(
                    "{\"solver_type\": \"" + name + "\"}")).solverType());
        }
        // diffusers checks final_sigmas_type against the name as given, so "deis" needs sigma_min
        assertTrue(parseError("{\"algorithm_type\": \"deis\"}").getMessage().endsWith("`final_sigmas_type` zero is not"
                + " supported for `algorithm_type` deis. Please choose `sigma_min` instead."));
        DpmSolverMultistepConfig ddpmKeys = DpmSolverMultistepConfig.fromJson(json("{\"variance_type\": \"fixed_small\"}"));
        assertEquals("fixed_small", ddpmKeys.varianceType());
        assertFalse(ddpmKeys.learnedVariance(), "only learned / learned_range change the step");
    }

    @Test
    void wrongTypesNameTheFileAndTheKey() {
        for (String[] c : new String[][]{
                {"{\"solver_order\": \"2\"}", "'solver_order' must be an integer"},
                {"{\"solver_order\": 2.5}", "'solver_order' must be an integer"},
                {"{\"lower_order_final\": 1}", "'lower_order_final' must be true or false"},
                {"{\"flow_shift\": \"3\"}", "'flow_shift' must be a number"},
                {"{\"algorithm_type\": 3}", "'algorithm_type' must be a string"},
                {"{\"trained_betas\": 0.1}", "'trained_betas' must be an array of numbers or null"},
                {"{\"trained_betas\": [0.1, \"x\"]}", "'trained_betas[1]' must be a number"},
                {"[1, 2]", "expected a JSON object"}}) {
            IllegalArgumentException e = parseError(c[0]);
            assertTrue(e.getMessage().startsWith("cfg.json: "), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
        }
    }

    /** Invalid values and combinations, with diffusers' messages (some of which diffusers raises only later). */
    @Test
    void invalidCombinationsAreRefusedWithDiffusersMessages() {
        String dpm = "<class 'diffusers.schedulers.scheduling_dpmsolver_multistep.DPMSolverMultistepScheduler'>";
        String[][] cases = {
                {"{\"use_karras_sigmas\": true, \"use_exponential_sigmas\": true}", "Only one of `config.use_beta_sigmas`,"
                        + " `config.use_exponential_sigmas`, `config.use_karras_sigmas` can be used."},
                {"{\"algorithm_type\": \"dpmsolver\"}", "`final_sigmas_type` zero is not supported for `algorithm_type`"
                        + " dpmsolver. Please choose `sigma_min` instead."},
                {"{\"algorithm_type\": \"sde-dpmsolver\"}", "`algorithm_type` sde-dpmsolver."},
                {"{\"algorithm_type\": \"foo\"}", "foo is not implemented for " + dpm},
                {"{\"solver_type\": \"bar\"}", "bar is not implemented for " + dpm},
                {"{\"beta_schedule\": \"exp\"}", "exp is not implemented for " + dpm},
                {"{\"timestep_spacing\": \"even\"}", "even is not supported. Please make sure to choose one of"
                        + " 'linspace', 'leading' or 'trailing'."},
                {"{\"final_sigmas_type\": \"one\"}", "`final_sigmas_type` must be one of 'zero', or 'sigma_min', but got one"},
                {"{\"prediction_type\": \"noise\"}", "prediction_type given as noise must be one of `epsilon`, `sample`,"
                        + " `v_prediction`, or `flow_prediction` for the DPMSolverMultistepScheduler."},
                {"{\"algorithm_type\": \"dpmsolver\", \"final_sigmas_type\": \"sigma_min\", \"prediction_type\":"
                        + " \"flow_prediction\"}", "prediction_type given as flow_prediction must be one of `epsilon`,"
                        + " `sample`, or `v_prediction` for the DPMSolverMultistepScheduler."},
                {"{\"solver_order\": 0}", "solver_order must be ≥ 1"},
                {"{\"thresholding\": true, \"dynamic_thresholding_ratio\": 1.5}", "dynamic_thresholding_ratio must be in [0, 1]"},
                {"{\"num_train_timesteps\": 3, \"trained_betas\": [0.1, 0.2]}", "trained_betas has 2 values but num_train_timesteps is 3"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = parseError(c[0]);
            assertTrue(e.getMessage().startsWith("cfg.json: ") && e.getMessage().contains(c[1]), c[0] + " → " + e.getMessage());
        }
    }

    @Test
    void overridesAreTypedLikeTheFile() {
        DpmSolverMultistepConfig c = DpmSolverMultistepConfig.defaults().withOverrides(Map.of("solver_order", "3",
                "algorithm_type", "sde-dpmsolver++", "lambda_min_clipped", "-5.1", "use_karras_sigmas", "true",
                "trained_betas", "null", "sample_max_value", 2));
        assertEquals(3, c.solverOrder());
        assertEquals(DpmSolverAlgorithmType.SDE_DPMSOLVER_PLUS_PLUS, c.algorithmType());
        assertEquals(-5.1, c.lambdaMinClipped());
        assertTrue(c.useKarrasSigmas());
        assertEquals(2.0, c.sampleMaxValue());
        assertEquals(Double.NEGATIVE_INFINITY, c.withOverrides(Map.of("lambda_min_clipped", "-Infinity")).lambdaMinClipped());
        Map<String, Object> nulls = new HashMap<>();
        nulls.put("solver_order", null);
        assertEquals(2, c.withOverrides(nulls).solverOrder(), "null restores diffusers' default");

        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> c.withOverrides(Map.of("solver_orde", 2), "--scheduler"));
        assertTrue(unknown.getMessage().startsWith("--scheduler: unknown DPMSolverMultistepScheduler option 'solver_orde'"));
        IllegalArgumentException invalid = assertThrows(IllegalArgumentException.class,
                () -> c.withOverrides(Map.of("algorithm_type", "dpmsolver"), "--scheduler"));
        assertTrue(invalid.getMessage().startsWith("--scheduler: `final_sigmas_type` zero is not supported"), invalid.getMessage());
    }

    @Test
    void configFileSigmaRangeIsKeptOnlyWhenSet() throws Exception {
        DpmSolverMultistepConfig c = DpmSolverMultistepConfig.fromJson(json("{\"sigma_min\": 0.03, \"sigma_max\": 14.6}"));
        assertEquals(0.03, c.sigmaMin());
        assertEquals(14.6, c.sigmaMax());
        assertEquals(14.6, c.toJson().get("sigma_max").asDouble());
        assertFalse(DpmSolverMultistepConfig.defaults().toJson().has("sigma_min"), "diffusers' own config has no sigma_min");
        assertNotEquals(c, DpmSolverMultistepConfig.defaults());
        assertEquals(c.hashCode(), DpmSolverMultistepConfig.fromJson(c.toJson()).hashCode());
    }
}
