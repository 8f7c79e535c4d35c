package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Reading, validating and overriding UniPCMultistepScheduler configs, and the calls diffusers refuses. */
class UniPcMultistepConfigTest {
    static final Path I2VGEN_XL = Path.of("src/test/resources/i2vgen-xl-scheduler_config.json");

    static JsonNode json(String text) throws Exception {
        return new ObjectMapper().readTree(text);
    }

    static IllegalArgumentException parseError(String text) {
        return assertThrows(IllegalArgumentException.class, () -> UniPcMultistepConfig.fromJson(json(text), "cfg.json"));
    }

    @Test
    void emptyConfigTakesDiffusersDefaults() throws Exception {
        UniPcMultistepConfig c = UniPcMultistepConfig.fromJson(json("{\"_class_name\": \"UniPCMultistepScheduler\"}"));
        assertEquals(UniPcMultistepConfig.defaults(), c);
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(0.0001, c.betaStart());
        assertEquals(0.02, c.betaEnd());
        assertEquals(BetaSchedule.LINEAR, c.betaSchedule());
        assertNull(c.trainedBetas());
        assertEquals(2, c.solverOrder());
        assertEquals(UniPcPredictionType.EPSILON, c.predictionType());
        assertFalse(c.thresholding());
        assertEquals(0.995, c.dynamicThresholdingRatio());
        assertEquals(1.0, c.sampleMaxValue());
        assertTrue(c.predictX0());
        assertEquals(UniPcSolverType.BH2, c.solverType());
        assertTrue(c.lowerOrderFinal());
        assertEquals(List.of(), c.disableCorrector());
        assertFalse(c.useKarrasSigmas() || c.useExponentialSigmas() || c.useBetaSigmas() || c.useFlowSigmas());
        assertEquals(1.0, c.flowShift());
        assertEquals(TimestepSpacing.LINSPACE, c.timestepSpacing());
        assertEquals(0, c.stepsOffset());
        assertEquals(FinalSigmasType.ZERO, c.finalSigmasType());
        assertFalse(c.rescaleBetasZeroSnr());
        assertFalse(c.useDynamicShifting());
        assertEquals(UniPcTimeShiftType.EXPONENTIAL, c.timeShiftType());
        assertNull(c.sigmaMin());
        assertNull(c.sigmaMax());
        assertNull(c.shiftTerminal());
        // null means "diffusers' default", as None does in a diffusers config (solver_p included)
        assertEquals(c, UniPcMultistepConfig.fromJson(json(
                "{\"solver_p\": null, \"disable_corrector\": null, \"sigma_min\": null, \"trained_betas\": null}")));
    }

    @Test
    void releasedI2vgenXlConfigReadsAsUniPc() {
        // a DDIMScheduler config: UniPC takes its shared keys and ignores clip_sample, set_alpha_to_one, …
        UniPcMultistepConfig c = UniPcMultistepConfig.read(I2VGEN_XL);
        assertEquals(BetaSchedule.SQUAREDCOS_CAP_V2, c.betaSchedule());
        assertEquals(UniPcPredictionType.V_PREDICTION, c.predictionType());
        assertTrue(c.rescaleBetasZeroSnr());
        assertEquals(TimestepSpacing.LEADING, c.timestepSpacing());
        assertEquals(1, c.stepsOffset());
        assertEquals(c, UniPcMultistepConfig.fromJson(c.toJson()), "toJson round trip");
        float[] trainSigmas = new UniPcMultistepScheduler(c).sigmas();
        assertEquals(4096, trainSigmas[999], 1e-3, "zero SNR: ᾱ_T = 2⁻²⁴, so σ_max = √((1 − 2⁻²⁴)/2⁻²⁴) ≈ 4096");
    }

    @Test
    void everyChoiceIsRead() throws Exception {
        UniPcMultistepConfig c = UniPcMultistepConfig.fromJson(json("""
                {"num_train_timesteps": 4, "trained_betas": [0.1, 0.2, 0.3, 0.4], "solver_order": 3,
                 "prediction_type": "flow_prediction", "thresholding": true, "dynamic_thresholding_ratio": 0.9,
                 "sample_max_value": 2.5, "predict_x0": false, "solver_type": "bh1", "lower_order_final": false,
                 "disable_corrector": [0, 3], "use_flow_sigmas": true, "use_karras_sigmas": true, "flow_shift": 3.0,
                 "timestep_spacing": "trailing", "steps_offset": 2, "final_sigmas_type": "sigma_min",
                 "rescale_betas_zero_snr": true, "use_dynamic_shifting": true, "time_shift_type": "linear",
                 "sigma_min": 0.01, "sigma_max": 80, "shift_terminal": 0.2}"""));
        assertArrayEquals(new double[]{0.1, 0.2, 0.3, 0.4}, c.trainedBetas());
        assertEquals(3, c.solverOrder());
        assertEquals(UniPcPredictionType.FLOW_PREDICTION, c.predictionType());
        assertTrue(c.thresholding());
        assertEquals(0.9, c.dynamicThresholdingRatio());
        assertEquals(2.5, c.sampleMaxValue());
        assertFalse(c.predictX0());
        assertEquals(UniPcSolverType.BH1, c.solverType());
        assertFalse(c.lowerOrderFinal());
        assertEquals(List.of(0, 3), c.disableCorrector());
        assertTrue(c.correctorDisabledAfter(3) && !c.correctorDisabledAfter(1));
        assertTrue(c.useFlowSigmas() && c.useKarrasSigmas());
        assertEquals(3.0, c.flowShift());
        assertEquals(TimestepSpacing.TRAILING, c.timestepSpacing());
        assertEquals(2, c.stepsOffset());
        assertEquals(FinalSigmasType.SIGMA_MIN, c.finalSigmasType());
        assertTrue(c.rescaleBetasZeroSnr() && c.useDynamicShifting());
        assertEquals(UniPcTimeShiftType.LINEAR, c.timeShiftType());
        assertEquals(0.01, c.sigmaMin());
        assertEquals(80.0, c.sigmaMax());
        assertEquals(0.2, c.shiftTerminal());
        assertEquals(c, UniPcMultistepConfig.fromJson(c.toJson()), "toJson round trip");
    }

    @Test
    void dpmSolverNamesOfTheSolverTypeReadAsBh2() throws Exception {
        // diffusers' register_to_config(solver_type="bh2") for these
        for (String name : new String[]{"midpoint", "heun", "logrho"}) {
            UniPcMultistepConfig c = UniPcMultistepConfig.fromJson(json("{\"solver_type\": \"" + name + "\"}"));
            assertEquals(UniPcSolverType.BH2, c.solverType(), name);
            assertEquals("bh2", c.toJson().get("solver_type").asText());
        }
    }

    @Test
    void wrongTypesNameTheFileAndKey() {
        for (String[] bad : new String[][]{{"solver_order", "\"2\""}, {"solver_order", "2.5"}, {"predict_x0", "1"},
                {"lower_order_final", "\"yes\""}, {"flow_shift", "\"3\""}, {"disable_corrector", "3"},
                {"disable_corrector", "\"0\""}, {"thresholding", "0"}, {"sigma_max", "[1]"}, {"shift_terminal", "true"},
                {"trained_betas", "0.1"}, {"steps_offset", "1.5"}, {"solver_type", "2"}, {"use_flow_sigmas", "\"true\""}}) {
            String message = parseError("{\"" + bad[0] + "\": " + bad[1] + "}").getMessage();
            assertTrue(message.startsWith("cfg.json: '" + bad[0] + "' must be"), bad[0] + "=" + bad[1] + ": " + message);
        }
        String element = parseError("{\"disable_corrector\": [0, 1.5]}").getMessage();
        assertEquals("cfg.json: 'disable_corrector[1]' must be an integer, got 1.5", element);
        assertTrue(parseError("[1, 2]").getMessage().startsWith("cfg.json: expected a JSON object"));
    }

    @Test
    void unknownChoicesListTheAllowedValues() {
        Map<String, List<String>> choices = Map.of(
                "beta_schedule", List.of("linear", "scaled_linear", "squaredcos_cap_v2"),
                "prediction_type", List.of("epsilon", "sample", "v_prediction", "flow_prediction"),
                "solver_type", List.of("bh1", "bh2", "midpoint", "heun", "logrho"),
                "timestep_spacing", List.of("leading", "trailing", "linspace"),
                "final_sigmas_type", List.of("zero", "sigma_min"),
                "time_shift_type", List.of("exponential", "linear"));
        choices.forEach((key, allowed) -> {
            String message = parseError("{\"" + key + "\": \"bogus\"}").getMessage();
            assertTrue(message.startsWith("cfg.json: '" + key + "' must be one of"), message);
            assertTrue(message.endsWith("got 'bogus'"), message);
            for (String value : allowed) assertTrue(message.contains("'" + value + "'"), message + " lists " + value);
        });
    }

    @Test
    void invalidCombinationsFailAsInDiffusers() {
        assertEquals("cfg.json: Only one of `config.use_beta_sigmas`, `config.use_exponential_sigmas`,"
                + " `config.use_karras_sigmas` can be used.",
                parseError("{\"use_karras_sigmas\": true, \"use_beta_sigmas\": true}").getMessage());
        assertEquals("cfg.json: `shift_terminal` is only supported when `use_flow_sigmas=True`.",
                parseError("{\"shift_terminal\": 0.0}").getMessage());
        assertTrue(parseError("{\"solver_order\": 0}").getMessage().contains("solver_order must be a positive integer, got 0"));
        assertTrue(parseError("{\"num_train_timesteps\": 3, \"trained_betas\": [0.1]}").getMessage()
                .contains("trained_betas has 1 values but num_train_timesteps is 3"));
        assertTrue(parseError("{\"thresholding\": true, \"dynamic_thresholding_ratio\": 1.5}").getMessage()
                .contains("dynamic_thresholding_ratio must be in [0, 1]"));
        assertDoesNotThrow(() -> UniPcMultistepConfig.fromJson(json("{\"dynamic_thresholding_ratio\": 1.5}")),
                "unused without thresholding, as in diffusers");
        String solverP = parseError("{\"solver_p\": {\"_class_name\": \"DPMSolverMultistepScheduler\"}}").getMessage();
        assertTrue(solverP.startsWith("cfg.json: 'solver_p'") && solverP.contains("not supported"), solverP);
        UncheckedIOException missing = assertThrows(UncheckedIOException.class,
                () -> UniPcMultistepConfig.read(Path.of("no/such/scheduler_config.json")));
        assertTrue(missing.getMessage().contains("no/such/scheduler_config.json"));
    }

    @Test
    void refusedCallsUseDiffusersMessages() {
        UniPcMultistepScheduler fresh = new UniPcMultistepScheduler(UniPcMultistepConfig.defaults());
        float[] six = new float[6];
        assertEquals("Number of inference steps is 'None', you need to run 'set_timesteps' after creating the scheduler",
                assertThrows(IllegalStateException.class, () -> fresh.stepAtTimestep(six, 999, six, null)).getMessage());
        assertEquals("Passing `sigmas` is only supported when `use_flow_sigmas=True`. Please set `use_flow_sigmas=True`"
                + " during scheduler initialization.", assertThrows(IllegalArgumentException.class,
                () -> fresh.setTimesteps(null, new double[]{0.5}, null)).getMessage());
        UniPcMultistepScheduler dynamic = new UniPcMultistepScheduler(UniPcMultistepConfig.defaults().withOverrides(
                Map.of("use_flow_sigmas", true, "use_dynamic_shifting", true)));
        assertEquals("`mu` must be passed when `use_dynamic_shifting` is set to be `True`",
                assertThrows(IllegalArgumentException.class, () -> dynamic.setTimesteps(4)).getMessage());
        UniPcMultistepScheduler flowEps = new UniPcMultistepScheduler(UniPcMultistepConfig.defaults().withOverrides(
                Map.of("use_flow_sigmas", true, "prediction_type", "flow_prediction", "predict_x0", false))).setTimesteps(3);
        assertEquals("prediction_type given as flow_prediction must be one of `epsilon`, `sample`, or `v_prediction`"
                + " for the UniPCMultistepScheduler.", assertThrows(IllegalArgumentException.class,
                () -> flowEps.stepAtTimestep(six, flowEps.integerTimesteps()[0], six, null)).getMessage());
        // lower_order_final=false onto σ = 0: r_k = 0 makes R singular at order ≥ 3, and torch.linalg.solve refuses
        UniPcMultistepScheduler full = new UniPcMultistepScheduler(UniPcMultistepConfig.defaults().withOverrides(
                Map.of("solver_order", 3, "lower_order_final", false))).setTimesteps(4);
        float[] ones = {1, 1, 1, 1, 1, 1};
        for (int i = 0; i < 3; i++) full.stepAtTimestep(ones, full.integerTimesteps()[i], ones, null);
        String singular = assertThrows(ArithmeticException.class, () -> full.stepAtTimestep(ones, 0, ones, null)).getMessage();
        assertTrue(singular.endsWith("torch.linalg.solve: The solver failed because the input matrix is singular."), singular);
        assertTrue(singular.startsWith("UniPC step 3, predictor of order 3"), singular);
    }

    @Test
    void badArgumentsAreNamed() {
        UniPcMultistepScheduler s = new UniPcMultistepScheduler(UniPcMultistepConfig.defaults()).setTimesteps(2);
        float[] six = new float[6];
        assertTrue(assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(0)).getMessage()
                .contains("num_inference_steps must be ≥ 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> s.stepAtTimestep(new float[5], 999, six, null)).getMessage()
                .contains("model output has 5 values but the sample has 6"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> s.stepAtTimestep(six, 999, six, new int[]{2, 2})).getMessage()
                .contains("shape [2, 2] does not match the sample's 6 values"));
        s.stepAtTimestep(six, 999, six, null);
        s.stepAtTimestep(six, 499, six, null);
        assertTrue(assertThrows(IllegalStateException.class, () -> s.stepAtTimestep(six, 0, six, null)).getMessage()
                .contains("all 2 steps have run"));
        UniPcMultistepScheduler thresholded = new UniPcMultistepScheduler(UniPcMultistepConfig.defaults().withOverrides(
                Map.of("thresholding", true))).setTimesteps(2);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> thresholded.stepAtTimestep(six, 0, six, null)).getMessage()
                .contains("thresholding works per batch item"));
        assertThrows(IllegalArgumentException.class, () -> s.setBeginIndex(2));
    }

    @Test
    void overridesGoThroughTheSameParsing() {
        UniPcMultistepConfig base = UniPcMultistepConfig.read(I2VGEN_XL);
        UniPcMultistepConfig cli = base.withOverrides(Map.of("solver_order", "3", "solver_type", "bh1",
                "disable_corrector", "[0, 1]", "timestep_spacing", "trailing", "steps_offset", "0"));
        assertEquals(3, cli.solverOrder());
        assertEquals(UniPcSolverType.BH1, cli.solverType());
        assertEquals(List.of(0, 1), cli.disableCorrector());
        assertEquals(TimestepSpacing.TRAILING, cli.timestepSpacing());
        assertEquals(UniPcPredictionType.V_PREDICTION, cli.predictionType(), "untouched keys keep their value");

        Map<String, Object> javaValues = new HashMap<>();
        javaValues.put("rescale_betas_zero_snr", null);
        javaValues.put("disable_corrector", List.of(2));
        javaValues.put("flow_shift", 5);
        UniPcMultistepConfig typed = base.withOverrides(javaValues);
        assertFalse(typed.rescaleBetasZeroSnr(), "null restores diffusers' default");
        assertEquals(List.of(2), typed.disableCorrector());
        assertEquals(5.0, typed.flowShift());

        String unknown = assertThrows(IllegalArgumentException.class,
                () -> base.withOverrides(Map.of("solver_ordre", "3"))).getMessage();
        assertTrue(unknown.contains("unknown UniPCMultistepScheduler option 'solver_ordre'"), unknown);
        String wrongType = assertThrows(IllegalArgumentException.class,
                () -> base.withOverrides(Map.of("predict_x0", "maybe"), "--scheduler")).getMessage();
        assertEquals("--scheduler: 'predict_x0' must be true or false, got \"maybe\"", wrongType);
        assertEquals(base, UniPcMultistepConfig.read(I2VGEN_XL), "overrides leave the original alone");
    }

    @Test
    void recordIsImmutableAndComparable() {
        double[] betas = {0.1, 0.2};
        UniPcMultistepConfig c = UniPcMultistepConfig.defaults().withOverrides(Map.of("num_train_timesteps", 2, "trained_betas", betas));
        betas[0] = 9;
        c.trainedBetas()[1] = 9;
        assertArrayEquals(new double[]{0.1, 0.2}, c.trainedBetas());
        assertThrows(UnsupportedOperationException.class, () -> c.disableCorrector().add(1));
        assertEquals(c.hashCode(), UniPcMultistepConfig.fromJson(c.toJson()).hashCode());
        assertNotEquals(c, UniPcMultistepConfig.defaults());
        assertTrue(c.toString().contains("\"trained_betas\":[0.1,0.2]"), c.toString());
        assertEquals(UniPcMultistepConfig.KEYS.size(), c.toJson().size());
        // every key but solver_p (always null) is a record component
        assertEquals(UniPcMultistepConfig.KEYS.size() - 1, UniPcMultistepConfig.class.getRecordComponents().length);
    }
}
