package dev.i2vgen.model.svd;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * SVD's UNet on the JVM backend against diffusers' recorded calls (StableVideoDiffusionPipeline, CPU float32): every
 * call's output from that call's recorded inputs, relative error ≤ 1e-4. "svd-tiny" is guided (batch 2, zeros as the
 * unconditional image embedding and latents), "svd-tiny-chunked" unguided with 5 frames (not the config's 4).
 */
class SpatioTemporalUNetReferenceTest {
    static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked"})
    void everyCallMatchesTheReference(String caseName) {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName);
             SafetensorsFile file = SafetensorsFile.open(ref.checkpoint().resolve("unet/diffusion_pytorch_model.safetensors"));
             Backend backend = Backends.create("jvm")) {
            SpatioTemporalUNet unet = new SpatioTemporalUNet(SpatioTemporalUNetConfig.load(ref.checkpoint().resolve("unet/config.json")), file);
            int[] s = ref.tensor("unet.0.sample").shape();
            int contextLength = ref.tensor("unet.0.encoder_hidden_states").dim(1);
            List<String> failures = new ArrayList<>();
            try (CompiledStage stage = CompiledStage.compile(backend, unet.buildGraph(s[0], s[1], s[3], s[4], contextLength, DType.F32))) {
                int calls = 0;
                for (int call = 0; ref.has("unet." + call + ".out"); call++, calls++) {
                    String p = "unet." + call + ".";
                    float t = ref.tensor(p + "timestep").toFloatArray()[0];
                    float[] perVideo = new float[s[0]];
                    Arrays.fill(perVideo, t);
                    Map<String, Tensor> out = stage.run(Map.of(
                            SpatioTemporalUNet.SAMPLE, ref.tensor(p + "sample"),
                            SpatioTemporalUNet.TIMESTEP, Tensor.fromFloats(perVideo, s[0]),
                            SpatioTemporalUNet.ENCODER_HIDDEN_STATES, ref.tensor(p + "encoder_hidden_states"),
                            SpatioTemporalUNet.ADDED_TIME_IDS, ref.tensor(p + "added_time_ids")));
                    Tensor actual = out.get(SpatioTemporalUNet.OUT), expected = ref.tensor(p + "out");
                    assertArrayEquals(expected.shape(), actual.shape(), p + "out shape");
                    double rel = TensorComparison.relativeError(actual, expected);
                    String line = String.format("%s %sout: relative error %.3g (max abs %.3g)", caseName, p, rel, TensorComparison.maxAbsError(actual, expected));
                    System.out.println(line);
                    if (!(rel <= TOLERANCE)) failures.add(line);
                }
                assertTrue(calls >= 2, caseName + " records " + calls + " UNet calls");
            }
            assertTrue(failures.isEmpty(), String.join("\n", failures));
        }
    }
}
