package dev.i2vgen.model.unet;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The UNet on the JVM backend against diffusers' recorded tensors: every top-level module output of the
 * first call, and the output of every call from that call's recorded inputs. fp32, relative error ≤ 1e-4.
 * ("tiny-fp16" holds the same weights rounded to F16, used as F16 constants and computed in F32.)
 */
class UNetReferenceTest {
    static final double TOLERANCE = 1e-4;

    /** Module outputs of call 0 as recorded by the reference ("unet0.NAME"). */
    static final List<String> MODULES = List.of("time_proj", "time_embedding", "fps_embedding", "context_embedding",
            "image_latents_context_embedding", "image_latents_proj_in", "image_latents_temporal_encoder", "conv_in",
            "transformer_in", "mid_block", "conv_norm_out", "conv_act", "conv_out");

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-noguidance", "tiny-fp16"})
    void matchesReference(String caseName) {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName);
             SafetensorsFile file = SafetensorsFile.open(weightsFile(ref.checkpoint().resolve("unet")));
             Backend backend = Backends.create("jvm")) {
            UNetConfig config = UNetConfig.load(ref.checkpoint().resolve("unet").resolve("config.json"));
            I2VGenXLUNet unet = new I2VGenXLUNet(config, file);
            int[] s = ref.tensor("unet.0.sample").shape();
            int textLength = ref.tensor("unet.0.encoder_hidden_states").dim(1);
            UNetStepGraph step = unet.buildGraph(new UNetShape(s[0], s[2], s[3], s[4], textLength), DType.F32, true);
            List<String> failures = new ArrayList<>();
            try (UNetRunner runner = new UNetRunner(step, backend)) {
                for (int call = 0; ref.has("unet." + call + ".out"); call++) {
                    Tensor out = runner.run(inputs(ref, call));
                    check(failures, caseName + " unet." + call + ".out", out, ref.tensor("unet." + call + ".out"));
                    if (call == 0) {
                        List<String> modules = new ArrayList<>(MODULES);
                        for (int i = 0; i < config.blocks(); i++) {
                            modules.add("down_blocks." + i);
                            modules.add("up_blocks." + i);
                        }
                        for (String m : modules) {
                            assertTrue(ref.has("unet0." + m), "reference lacks unet0." + m);
                            check(failures, caseName + " unet0." + m, runner.module(m), ref.tensor("unet0." + m));
                        }
                    }
                }
                UNetInputs good = inputs(ref, 0);
                UNetInputs wrongSample = new UNetInputs(good.imageEmbeddings(), good.timestep(), good.encoderHiddenStates(),
                        good.fps(), good.imageLatents(), good.imageEmbeddings());
                var e = assertThrows(IllegalArgumentException.class, () -> runner.run(wrongSample));
                assertTrue(e.getMessage().contains("'sample'"), e.getMessage());
            }
            assertTrue(failures.isEmpty(), String.join("\n", failures));
        }
    }

    static UNetInputs inputs(ReferenceCase ref, int call) {
        String p = "unet." + call + ".";
        return new UNetInputs(ref.tensor(p + "sample"), ref.tensor(p + "timestep"), ref.tensor(p + "encoder_hidden_states"),
                ref.tensor(p + "fps"), ref.tensor(p + "image_latents"), ref.tensor(p + "image_embeddings"));
    }

    static void check(List<String> failures, String what, Tensor actual, Tensor expected) {
        if (!Arrays.equals(actual.shape(), expected.shape())) {
            failures.add(what + ": shape " + Arrays.toString(actual.shape()) + " != reference " + Arrays.toString(expected.shape()));
            return;
        }
        double rel = TensorComparison.relativeError(actual, expected);
        String line = String.format("%s: relative error %.3g (max abs %.3g)", what, rel, TensorComparison.maxAbsError(actual, expected));
        System.out.println(line);
        if (!(rel <= TOLERANCE)) failures.add(line);
    }

    /** The UNet weights of a diffusers checkpoint folder: the full-precision file, else the fp16 variant. */
    static Path weightsFile(Path unetDir) {
        for (String name : List.of("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors")) {
            if (Files.exists(unetDir.resolve(name))) return unetDir.resolve(name);
        }
        throw new IllegalStateException("no UNet safetensors in " + unetDir);
    }
}
