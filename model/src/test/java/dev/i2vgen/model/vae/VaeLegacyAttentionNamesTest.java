package dev.i2vgen.model.vae;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.model.clip.TestCheckpoints;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static dev.i2vgen.model.clip.TestCheckpoints.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Old diffusers exports name the mid-block attention query/key/value/proj_attn, with 1×1-conv-shaped weights. */
class VaeLegacyAttentionNamesTest {

    /** The tiny VAE with its attention tensors renamed to the legacy names and reshaped to [C, C, 1, 1]. */
    static TensorSource legacy(TensorSource src) {
        Map<String, String> rename = Map.of("to_q", "query", "to_k", "key", "to_v", "value", "to_out.0", "proj_attn");
        Map<String, Tensor> out = new HashMap<>();
        for (String n : src.names()) {
            Tensor t = src.get(n);
            String renamed = n;
            for (var e : rename.entrySet()) {
                String marker = ".attentions.0." + e.getKey() + ".";
                if (n.contains(marker)) {
                    renamed = n.replace(marker, ".attentions.0." + e.getValue() + ".");
                    if (t.rank() == 2) t = t.reshape(t.dim(0), t.dim(1), 1, 1);
                }
            }
            out.put(renamed, t);
        }
        return new TensorSource() {
            public Tensor get(String name) { return out.get(name); }
            public boolean contains(String name) { return out.containsKey(name); }
            public Set<String> names() { return out.keySet(); }
            public String description() { return "legacy-renamed " + src.description(); }
        };
    }

    @Test
    void legacyNamesDecodeAndEncodeLikeCurrentNames() {
        try (ReferenceCase c = ReferenceCase.bundled("tiny"); SafetensorsFile w = TestCheckpoints.open(c, "vae");
             Backend backend = Backends.create("jvm")) {
            VaeConfig cfg = VaeConfig.load(TestCheckpoints.config(c, "vae"));
            TensorSource old = legacy(w);
            assertTrue(old.contains("decoder.mid_block.attentions.0.proj_attn.weight"));
            AutoencoderKL vae = new AutoencoderKL(cfg, old);
            Tensor latents = c.tensor("decode.latents").slice(2, 0, 1).contiguous();
            assertClose("legacy decode", vae.decodeVideo(backend, latents, null, DType.F32),
                    c.tensor("decode.video").slice(2, 0, 1).contiguous(), 1e-4);
            assertClose("legacy encode", vae.encode(backend, c.tensor("vae_encode.input"), DType.F32).mean(),
                    c.tensor("vae_encode.mean"), 1e-4);
        }
    }

    @Test
    void missingAttentionTensorNamesTheTensor() {
        try (ReferenceCase c = ReferenceCase.bundled("tiny"); SafetensorsFile w = TestCheckpoints.open(c, "vae")) {
            TensorSource without = new TensorSource() {
                public Tensor get(String name) { return w.get(name); }
                public boolean contains(String name) { return !name.startsWith("decoder.mid_block.attentions.0.to_k") && w.contains(name); }
                public Set<String> names() { return w.names(); }
                public String description() { return "partial vae"; }
            };
            AutoencoderKL vae = new AutoencoderKL(VaeConfig.load(TestCheckpoints.config(c, "vae")), without);
            var g = new dev.i2vgen.graph.TaskGraph("t", DType.F32);
            var z = g.input("z", DType.F32, 1, 4, 4, 6);
            var e = assertThrows(Weights.MissingWeightException.class, () -> vae.decode(g, z));
            assertTrue(e.getMessage().contains("decoder.mid_block.attentions.0.to_k.weight"), e.getMessage());
        }
    }
}
