package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The step graphs of DDIM, Euler and Euler ancestral against their host steps over whole runs ({@link StepGraphCheck}),
 * on the released I2VGen-XL and SVD-XT configs (from_config into each class) and diffusers' defaults.
 */
class EulerDdimStepGraphTest {
    static final Path I2VGEN_XL = Path.of("src/test/resources/i2vgen-xl-scheduler_config.json");
    static final Path SVD_XT = Path.of("src/test/resources/svd-xt-scheduler_config.json");
    static final int[] SHAPE = {2, 4, 3, 5};
    static final double TOLERANCE = 2e-5;

    @ParameterizedTest
    @CsvSource({"1,0", "3,0", "8,0", "25,0", "3,1", "8,0.5", "25,1"})
    void ddimOnTheI2VGenConfig(int steps, double eta) {
        DdimConfig c = DdimConfig.read(I2VGEN_XL);
        StepGraphCheck.assertMatchesHost("DDIM " + steps + " steps, eta " + eta, () -> new DdimScheduler(c).asScheduler(),
                steps, eta, TOLERANCE, SHAPE);
    }

    @ParameterizedTest
    @CsvSource({"epsilon,true,3", "sample,false,8", "v_prediction,true,8", "epsilon,false,25"})
    void ddimPredictionTypesAndClipping(String prediction, boolean clip, int steps) {
        DdimConfig c = DdimConfig.read(I2VGEN_XL).withOverrides(Map.of("prediction_type", prediction, "clip_sample", clip,
                "rescale_betas_zero_snr", false, "clip_sample_range", 0.5));
        StepGraphCheck.assertMatchesHost("DDIM " + c, () -> new DdimScheduler(c).asScheduler(), steps, 0.3, TOLERANCE, SHAPE);
    }

    /** Euler on I2VGen-XL's zero-SNR schedule: σ_max = 4096 (ᾱ_T = 2⁻²⁴), the case where the op order matters most. */
    @ParameterizedTest
    @CsvSource({"1", "3", "8", "25"})
    void eulerOnTheI2VGenConfig(int steps) {
        EulerDiscreteConfig c = EulerDiscreteConfig.read(I2VGEN_XL);
        double worst = StepGraphCheck.assertMatchesHost("Euler " + steps, () -> new EulerDiscreteScheduler(c).asScheduler(),
                steps, 0, 0, SHAPE);
        assertEquals(0, worst, "the float32 graph is diffusers' operations in their order: bit-exact with the host");
    }

    @ParameterizedTest
    @CsvSource({"epsilon,false,8", "sample,true,8", "v_prediction,true,25", "epsilon,true,3"})
    void eulerVariants(String prediction, boolean karras, int steps) {
        EulerDiscreteConfig c = EulerDiscreteConfig.read(SVD_XT).withOverrides(Map.of("prediction_type", prediction,
                "use_karras_sigmas", karras));
        StepGraphCheck.assertMatchesHost("Euler " + c, () -> new EulerDiscreteScheduler(c).asScheduler(), steps, 0, 0, SHAPE);
    }

    @ParameterizedTest
    @CsvSource({"1", "3", "8", "25"})
    void eulerAncestralOnTheI2VGenConfig(int steps) {
        EulerAncestralDiscreteConfig c = EulerAncestralDiscreteConfig.read(I2VGEN_XL);
        StepGraphCheck.assertMatchesHost("Euler ancestral " + steps, () -> new EulerAncestralDiscreteScheduler(c),
                steps, 0, 0, SHAPE);
    }

    @ParameterizedTest
    @CsvSource({"epsilon,leading,8", "epsilon,trailing,25", "v_prediction,linspace,8"})
    void eulerAncestralVariants(String prediction, String spacing, int steps) {
        EulerAncestralDiscreteConfig c = EulerAncestralDiscreteConfig.defaults().withOverrides(Map.of(
                "prediction_type", prediction, "timestep_spacing", spacing));
        StepGraphCheck.assertMatchesHost("Euler ancestral " + c, () -> new EulerAncestralDiscreteScheduler(c), steps, 0, 0, SHAPE);
    }

    /** diffusers raises NotImplementedError for prediction_type "sample": refused when the graph is built. */
    @Test
    void eulerAncestralRefusesSamplePredictionWhenBuilt() {
        EulerAncestralDiscreteConfig c = EulerAncestralDiscreteConfig.defaults().withOverrides(Map.of("prediction_type", "sample"));
        var s = new EulerAncestralDiscreteScheduler(c).setTimesteps(4);
        var e = assertThrows(UnsupportedOperationException.class, () -> s.stepGraph(new TaskGraph("t", DType.F32), 0, SHAPE));
        assertTrue(e.getMessage().contains("sample"), e.getMessage());
    }

    /** Dynamic thresholding cannot be a graph: DDIM says so, and the pipelines step on the host. */
    @Test
    void ddimWithThresholdingStepsOnTheHost() {
        DdimConfig c = DdimConfig.read(I2VGEN_XL).withOverrides(Map.of("thresholding", true));
        Scheduler s = new DdimScheduler(c).asScheduler().setTimesteps(3);
        assertFalse(s.stepsOnDevice());
        assertTrue(s.acceptsEta());
        var e = assertThrows(UnsupportedOperationException.class, () -> s.stepGraph(new TaskGraph("t", DType.F32), 0, SHAPE));
        assertTrue(e.getMessage().contains("thresholding"), e.getMessage());
    }
}
