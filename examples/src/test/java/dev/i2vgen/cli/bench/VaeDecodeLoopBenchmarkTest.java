package dev.i2vgen.cli.bench;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.cuda.CudaBackend;
import dev.i2vgen.backend.cuda.CudaExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.model.vae.AutoencoderKL;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The released VAE decoder (random fp16 weights) on CUDA, 16 frames of 88x160 latents → 704x1280, in chunks of 1 and
 * 8 (only with {@code -Di2vgen.cuda.bench=true}): {@link AutoencoderKL.FrameDecoder#decodeFrames} (runs submitted back
 * to back, each chunk copied out while the next decodes) against the loop it replaced, written out here (execute +
 * synchronous read into a fresh host tensor + copy into the video, per chunk), and the device time alone (event-timed
 * replays of the same graph). Runs alternate between the two loops; medians of 3 after a warm-up. The two videos
 * must agree within 1e-2 (separate plans: cuDNN may pick other algorithms, so fp16 rounding, not bits).
 */
class VaeDecodeLoopBenchmarkTest {

    @Test
    void decodeLoopAgainstTheSynchronousLoop() {
        Assumptions.assumeTrue(Boolean.getBoolean("i2vgen.cuda.bench"), "benchmarks run only with -Di2vgen.cuda.bench=true");
        BackendProvider provider = Backends.provider("cuda");
        Assumptions.assumeTrue(provider.isAvailable(), () -> "CUDA unavailable: " + provider.unavailableReason());
        BenchModel model = BenchModel.released();
        AutoencoderKL vae = model.vae();
        DType act = DType.F16;
        int frames = model.frames();
        Tensor latents = gaussian(new Random(5), frames, vae.config().latentChannels(), model.latentHeight(), model.latentWidth());
        StringBuilder table = new StringBuilder();
        double[] errors = new double[2];
        try (Backend backend = Backends.create("cuda")) {
            for (int chunk : new int[]{1, 8}) {
                Map<String, CompiledStage> oldStages = new HashMap<>();
                try (AutoencoderKL.FrameDecoder decoder = vae.frameDecoder(backend, act)) {
                    Tensor fresh = decoder.decodeFrames(latents, chunk);          // warm-up: compiles, captures graphs
                    Tensor old = oldLoop(oldStages, vae, backend, act, latents, chunk);
                    errors[chunk == 1 ? 0 : 1] = TensorComparison.relativeError(fresh, old);
                    System.out.printf("BENCH vae decode chunk %d: new loop vs old loop relative error %.3e%n", chunk, errors[chunk == 1 ? 0 : 1]);
                    double[] newS = new double[3], oldS = new double[3];
                    for (int r = 0; r < 3; r++) {
                        long t0 = System.nanoTime();
                        decoder.decodeFrames(latents, chunk);
                        newS[r] = (System.nanoTime() - t0) / 1e9;
                        t0 = System.nanoTime();
                        oldLoop(oldStages, vae, backend, act, latents, chunk);
                        oldS[r] = (System.nanoTime() - t0) / 1e9;
                    }
                    // device time: every chunk's graph replayed, event-timed (chunk 8 of 16: two runs of one graph)
                    double deviceMs = 0;
                    for (int start = 0; start < frames; start += chunk) {
                        int n = Math.min(chunk, frames - start);
                        CompiledStage s = oldStages.get(key(n, latents));
                        deviceMs += ((CudaBackend) backend).timeMillis(((CudaExecutionPlan) s.plan())::enqueueTasks, 1, 3);
                    }
                    double newMed = median(newS), oldMed = median(oldS);
                    System.out.printf("BENCH vae decode %d frames chunk %d: submit+readAsync %.4f s %s, execute+read+copy %.4f s %s, device %.4f s%n",
                            frames, chunk, newMed, Arrays.toString(newS), oldMed, Arrays.toString(oldS), deviceMs / 1e3);
                    table.append(String.format("BENCH   chunk %d: new %.4f s  old %.4f s  device %.4f s  host part new %.1f ms old %.1f ms (%.2f / %.2f ms per frame)%n",
                            chunk, newMed, oldMed, deviceMs / 1e3, newMed * 1e3 - deviceMs, oldMed * 1e3 - deviceMs,
                            (newMed * 1e3 - deviceMs) / frames, (oldMed * 1e3 - deviceMs) / frames));
                } finally {
                    oldStages.values().forEach(CompiledStage::close);
                }
            }
        }
        System.out.print(table);
        // checked after the timings, so that a failure still reports them (fp16 stage tolerance of the conformance tests)
        for (double e : errors) assertTrue(e <= 1e-2, "new decode loop differs from the old one: relative errors " + Arrays.toString(errors));
    }

    /** The decode loop as it was before submit/readAsync: one synchronous run and read per chunk. */
    private static Tensor oldLoop(Map<String, CompiledStage> stages, AutoencoderKL vae, Backend backend, DType act, Tensor latents, int chunk) {
        int n = latents.dim(0);
        Tensor out = null;
        for (int start = 0; start < n; start += chunk) {
            int end = Math.min(n, start + chunk);
            Tensor part = latents.slice(0, start, end).to(DType.F32);
            CompiledStage stage = stages.computeIfAbsent(key(end - start, latents), k -> {
                TaskGraph g = new TaskGraph("vae_decoder_sync", act);
                Value z = g.input(AutoencoderKL.INPUT_LATENTS, DType.F32, part.shape());
                Value img = vae.decodeScaledLatents(g, act == DType.F32 ? z : g.cast(z, act));
                g.output(AutoencoderKL.OUTPUT_IMAGE, img.dtype() == DType.F32 ? img : g.cast(img, DType.F32));
                return CompiledStage.compile(backend, g);
            });
            Tensor img = stage.run(Map.of(AutoencoderKL.INPUT_LATENTS, part)).get(AutoencoderKL.OUTPUT_IMAGE);
            if (out == null) {
                int[] s = img.shape();
                s[0] = n;
                out = Tensor.allocate(DType.F32, s);
            }
            long frameBytes = img.byteSize() / (end - start);
            MemorySegment.copy(img.contiguousSegment(), 0, out.contiguousSegment(), start * frameBytes, img.byteSize());
        }
        return out;
    }

    private static String key(int frames, Tensor latents) { return frames + "x" + latents.dim(2) + "x" + latents.dim(3); }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static Tensor gaussian(Random rnd, int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        return Tensor.fromFloats(v, shape);
    }
}
