package dev.i2vgen.cli.bench;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.RandomWeights;
import dev.i2vgen.model.svd.SpatioTemporalUNet;
import dev.i2vgen.model.vae.AutoencoderKL;
import dev.i2vgen.model.vae.AutoencoderKLTemporalDecoder;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The released SVD-XT architecture (the benchmark's configs) built with weights of the names and shapes diffusers gives
 * it ({@code bench/svd-xt-tensors.tsv}): diffusers' parameter counts (UNet 1,524,623,082, VAE 97,742,847, as in
 * bench/anchor-diffusers-svd-h200.json), and every tensor is read except the query/key projections of attention to the
 * one-token image context (and their norm), which cannot change the result. Shape inference only, nothing is run.
 */
class SvdReleasedArchitectureTest {

    @Test
    void unetUsesEveryReleasedTensor() {
        Recording weights = new Recording(SvdBenchModel.weights("unet"));
        assertEquals(1_524_623_082L, weights.source.parameterCount(), "tensor list itself");
        var unet = new SpatioTemporalUNet(SvdBenchModel.released().unet().config(), weights);
        ImmutableTaskGraph graph = unet.buildGraph(2, 25, 72, 128, 1, DType.F16).freeze();
        assertAllUsed(weights, 16 * 2 * 4);
        assertArrayEquals(new int[]{2, 25, 4, 72, 128}, graph.output(SpatioTemporalUNet.OUT).shape());
    }

    @Test
    void temporalVaeUsesEveryReleasedTensor() {
        Recording weights = new Recording(SvdBenchModel.weights("vae"));
        assertEquals(97_742_847L, weights.source.parameterCount(), "tensor list itself");
        var vae = new AutoencoderKLTemporalDecoder(SvdBenchModel.released().vae().config(), weights);
        TaskGraph enc = new TaskGraph("encode", DType.F16);
        AutoencoderKL.Moments m = vae.encode(enc, enc.input("image", DType.F16, 1, 3, 576, 1024));
        enc.output("mean", m.mean());
        assertArrayEquals(new int[]{1, 4, 72, 128}, m.mean().shape());
        TaskGraph dec = new TaskGraph("decode", DType.F16);
        Value video = vae.decode(dec, dec.input("z", DType.F16, 8, 4, 72, 128), 8);
        dec.output("video", video);
        assertArrayEquals(new int[]{8, 3, 576, 1024}, video.shape());
        assertAllUsed(weights, 0);
    }

    /**
     * Attention to SVD's one-token context needs neither the queries nor the keys (softmax over one key is 1), so
     * those projections and the norm before them are the only released tensors not read.
     */
    static final java.util.regex.Pattern SINGLE_KEY_ATTENTION =
            java.util.regex.Pattern.compile(".*transformer_blocks\\.\\d+\\.(attn2\\.to_[qk]\\.weight|norm2\\.(weight|bias))");

    /**
     * Every tensor is read (as a graph constant, or on the host like the blend factors) but the single-key attention
     * ones, {@code skipped} of them (16 transformers × a spatial and a temporal block × 4 tensors in the UNet).
     */
    private static void assertAllUsed(Recording weights, int skipped) {
        Set<String> unused = new HashSet<>(weights.names());
        unused.removeAll(weights.read);
        Set<String> unexpected = new HashSet<>(unused);
        unexpected.removeIf(n -> SINGLE_KEY_ATTENTION.matcher(n).matches());
        assertTrue(unexpected.isEmpty(), "released tensors the model does not read: " + unexpected);
        assertEquals(skipped, unused.size(), "single-key attention tensors not read: " + unused);
    }

    /** The names a model reads from its weights. */
    private static final class Recording implements TensorSource {
        final RandomWeights source;
        final Set<String> read = new HashSet<>();

        Recording(RandomWeights source) { this.source = source; }

        @Override public Tensor get(String name) {
            read.add(name);
            return source.get(name);
        }

        @Override public boolean contains(String name) { return source.contains(name); }

        @Override public Set<String> names() { return source.names(); }

        @Override public String description() { return source.description(); }
    }
}
