package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Reading and validating LCMScheduler configs. */
class LcmConfigTest {
    static JsonNode json(String text) throws Exception {
        return new ObjectMapper().readTree(text);
    }

    @Test
    void emptyConfigTakesDiffusersDefaults() throws Exception {
        LcmConfig c = LcmConfig.fromJson(json("{\"_class_name\": \"LCMScheduler\", \"variance_type\": \"fixed_small\","
                + " \"timestep_scaling\": null}"));
        assertEquals(LcmConfig.defaults(), c);
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(0.00085, c.betaStart());
        assertEquals(0.012, c.betaEnd());
        assertEquals(BetaSchedule.SCALED_LINEAR, c.betaSchedule());
        assertNull(c.trainedBetas());
        assertEquals(50, c.originalInferenceSteps());
        assertFalse(c.clipSample());
        assertEquals(1.0, c.clipSampleRange());
        assertTrue(c.setAlphaToOne());
        assertEquals(0, c.stepsOffset());
        assertEquals(PredictionType.EPSILON, c.predictionType());
        assertFalse(c.thresholding());
        assertEquals(0.995, c.dynamicThresholdingRatio());
        assertEquals(1.0, c.sampleMaxValue());
        assertEquals(TimestepSpacing.LEADING, c.timestepSpacing());
        assertEquals(10.0, c.timestepScaling());
        assertFalse(c.rescaleBetasZeroSnr());
    }

    @Test
    void everyKeyIsRead() throws Exception {
        ObjectNode all = (ObjectNode) json("{\"num_train_timesteps\": 3, \"beta_start\": 0.001, \"beta_end\": 0.03,"
                + " \"beta_schedule\": \"squaredcos_cap_v2\", \"trained_betas\": [0.1, 0.2, 0.3],"
                + " \"original_inference_steps\": 2, \"clip_sample\": true, \"clip_sample_range\": 2.5,"
                + " \"set_alpha_to_one\": false, \"steps_offset\": 1, \"prediction_type\": \"v_prediction\","
                + " \"thresholding\": true, \"dynamic_thresholding_ratio\": 0.9, \"sample_max_value\": 3.0,"
                + " \"timestep_spacing\": \"trailing\", \"timestep_scaling\": 1.0, \"rescale_betas_zero_snr\": true}");
        LcmConfig c = LcmConfig.fromJson(all);
        assertEquals(all, c.toJson());
        assertEquals(LcmConfig.KEYS, EulerAncestralDiscreteConfigTest.fieldNames(c.toJson()), "KEYS in diffusers' order");
        assertEquals(c, LcmConfig.fromJson(c.toJson()));
        assertEquals(c.hashCode(), LcmConfig.fromJson(c.toJson()).hashCode());
    }

    @Test
    void readsTheI2vgenXlConfig() {
        LcmConfig c = LcmConfig.read(EulerAncestralDiscreteConfigTest.I2VGEN_XL);
        assertEquals(BetaSchedule.SQUAREDCOS_CAP_V2, c.betaSchedule());
        assertEquals(0.0001, c.betaStart());
        assertEquals(PredictionType.V_PREDICTION, c.predictionType());
        assertTrue(c.setAlphaToOne());
        assertTrue(c.rescaleBetasZeroSnr());
        assertEquals(50, c.originalInferenceSteps(), "absent from a DDIM config: LCM's default");
        assertThrows(UncheckedIOException.class, () -> LcmConfig.read(Path.of("no-such-config.json")));
    }

    @Test
    void errorsNameTheSourceAndKey() {
        assertError("{\"original_inference_steps\": 0}", "original_inference_steps must be ≥ 1");
        assertError("{\"original_inference_steps\": 2.5}", "'original_inference_steps' must be an integer");
        assertError("{\"beta_schedule\": \"sigmoid\"}", "'beta_schedule' must be one of");
        assertError("{\"timestep_scaling\": \"10\"}", "'timestep_scaling' must be a number");
    }

    private static void assertError(String text, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LcmConfig.fromJson(json(text), "cfg.json"));
        assertTrue(e.getMessage().startsWith("cfg.json: ") && e.getMessage().contains(expected), e.getMessage());
    }
}
