package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * The frames-first TemporalConv (TemporalConvLayer's frame-major video, x[B, F, C, h·w] → y[B, F, O, h·w]) as
 * window GEMMs. With the weight repacked once tap-major, W'[o, t·C + c] = w[o, c, t] ([O, k·C]), output frame f of
 * image b is W'[:, tLo·C : (tHi+1)·C] · X[b, f + tLo − pad … f + tHi − pad], and those input frames are one
 * contiguous [(tHi−tLo+1)·C, h·w] block: every output frame is ONE GEMM with K up to k·C, written once with beta·C
 * added in the epilogue (no read-modify-write pass per tap). Frames with the same tap range form one strided-batched
 * cuBLASLt GEMM (batch stride C·h·w for X, overlapping windows being fine for reads, O·h·w for Y): for k = 3 the
 * interior frames of each image (K = 3C), and frame 0 and frame F−1 of all images (K = 2C, batched over images).
 * The GEMMs write disjoint frames, so each adds its own C: the residual when the op has one (beta = 1; the bias then
 * follows as gemm.cu's bias_rows), else a bias image [O, h·w] (bias[o] along each row, batch stride 0, built per run
 * in task scratch by layout.cu's permute with a zero stride: one small write instead of a pass over the output).
 */
final class TemporalConvLowering {
    /** layout.cu's Permutation holds this many axes. */
    private static final int PERMUTE_MAX_RANK = 8;

    private TemporalConvLowering() {}

    /** A run of consecutive output frames [f0, f1) that read the same taps [tLo, tHi]. */
    record Run(int f0, int f1, int tLo, int tHi) {}

    /** The runs of output frames by tap range, in frame order (zero padding: taps whose frame is outside [0, F) drop). */
    static List<Run> runs(int frames, int k) {
        int pad = (k - 1) / 2;
        List<Run> runs = new ArrayList<>();
        for (int f = 0; f < frames; ) {
            int tLo = Math.max(0, pad - f), tHi = Math.min(k - 1, frames - 1 - f + pad);
            int end = f + 1;
            while (end < frames && Math.max(0, pad - end) == tLo && Math.min(k - 1, frames - 1 - end + pad) == tHi) end++;
            runs.add(new Run(f, end, tLo, tHi));
            f = end;
        }
        return runs;
    }

    static void lower(TaskLowering tl, Task t) {
        CudaExecutionPlan plan = tl.plan;
        CudaBackend backend = tl.backend;
        Value x = t.input(0), w = t.input(1), biasValue = t.input(2), residualValue = t.input(3), out = t.output();
        int images = x.dim(0), frames = x.dim(1), c = x.dim(2), o = w.dim(0), k = w.dim(2);
        long hw = (long) x.dim(3) * x.dim(4);
        if (hw > Integer.MAX_VALUE || (long) k * c > Integer.MAX_VALUE)
            throw new IllegalArgumentException("temporal conv: " + hw + " pixels or K = " + (long) k * c + " exceed cuBLASLt's 32-bit sizes");
        long xp = tl.operand(x), y = tl.ptr(out);
        long bias = biasValue == null ? 0 : tl.operand(biasValue);
        long residual = residualValue == null ? 0 : tl.operand(residualValue);
        long taps = tapMajorWeight(tl, w, o, c, k);
        // C of the GEMMs: the residual (per frame, like D), else the bias image (shared by all frames), else none
        boolean image = residual == 0 && bias != 0 && !"false".equals(System.getProperty("i2vgen.cuda.temporalBiasImage"));
        long biasImage = image ? tl.scratch.take((long) o * hw * tl.act.byteSize()) : 0;
        List<Named> gemms;
        try {
            gemms = plan(tl, x, xp, y, residual, biasImage, taps, images, frames, c, o, k, hw);
        } catch (CudaException e) {
            if (biasImage == 0) throw e;
            biasImage = 0;   // no algorithm with a batch-shared C: beta = 0 and bias_rows after
            gemms = plan(tl, x, xp, y, residual, 0, taps, images, frames, c, o, k, hw);
        }
        if (biasImage != 0) fillBiasImage(tl, bias, biasImage, o, hw);
        for (Named g : gemms) {
            plan.addResource(g.gemm());
            plan.addStep(g.name(), stream -> g.gemm().run(backend.workspace, stream));
        }
        if (bias != 0 && biasImage == 0) GemmLowering.biasRows(tl, y, bias, (long) images * frames * o, o, hw);
    }

    /** A planned GEMM and the step name its time is profiled under. */
    private record Named(String name, CublasLt.Gemm gemm) {}

    /**
     * The GEMMs of every run: per image over a run's frames, or (a run of one frame) one over the images. C is the
     * residual (at D's frames), else the bias image (batch stride 0), else absent (beta = 0).
     */
    private static List<Named> plan(TaskLowering tl, Value x, long xp, long y, long residual, long biasImage, long taps,
                                    int images, int frames, int c, int o, int k, long hw) {
        int es = tl.act.byteSize(), pad = (k - 1) / 2;
        long xFrame = (long) c * hw, yFrame = (long) o * hw;   // elements per frame
        List<Named> gemms = new ArrayList<>();
        try {
            for (Run r : runs(frames, k)) {
                int kdim = (r.tHi() - r.tLo() + 1) * c, count = r.f1() - r.f0();
                String name = r.tHi() - r.tLo() + 1 == k ? "gemm temporal window" : "gemm temporal edge";
                GemmSpec.Matrix a = new GemmSpec.Matrix(taps + (long) r.tLo() * c * es, (long) k * c, 0);
                boolean overFrames = count > 1;
                int gemmsOfRun = overFrames ? images : 1, batch = overFrames ? count : images;
                long xStride = overFrames ? xFrame : frames * xFrame, yStride = overFrames ? yFrame : frames * yFrame;
                for (int b = 0; b < gemmsOfRun; b++) {
                    long firstOut = (overFrames ? (long) b * frames : 0) + r.f0();   // frame index over all images
                    long firstIn = firstOut + r.tLo() - pad;                           // its window's first frame
                    GemmSpec.Matrix bm = new GemmSpec.Matrix(xp + firstIn * xFrame * es, hw, xStride);
                    GemmSpec.Matrix d = new GemmSpec.Matrix(y + firstOut * yFrame * es, hw, yStride);
                    GemmSpec.Matrix cm = residual != 0 ? new GemmSpec.Matrix(residual + firstOut * yFrame * es, hw, yStride)
                            : biasImage != 0 ? new GemmSpec.Matrix(biasImage, hw, 0) : null;
                    gemms.add(new Named(name, tl.backend.cublas.plan(new GemmSpec(tl.act, o, (int) hw, kdim, false, batch, 1f,
                            cm == null ? 0f : 1f, a, bm, cm, d, 0))));
                }
            }
        } catch (CudaException e) {
            for (Named g : gemms) g.gemm().close();
            throw new CudaException("frames-first temporal conv " + java.util.Arrays.toString(x.shape()) + " → O = " + o
                    + ": " + e.getMessage() + " (build the UNet with -Di2vgen.unet.temporalFramesFirst=false for the permuted layout)");
        }
        return gemms;
    }

    /**
     * W' [O, k·C] (tap-major) from w [O, C, k]: a constant is repacked once into its own resident copy (layout tag
     * "frames_taps" + k, shared by later plans), a weight given at run time by a step of every run.
     */
    private static long tapMajorWeight(TaskLowering tl, Value w, int o, int c, int k) {
        long elements = (long) o * c * k, bytes = elements * tl.act.byteSize();
        Value root = w.root();
        if (root.kind() == Value.Kind.CONSTANT && root.numel() == elements) {
            return tl.plan.constantPointer(root, "frames_taps" + k, bytes, (r, p) -> {
                tl.plan.upload(r, p);
                // over itself through a temporary (task scratch, free once the plan is built): permute, then copy back
                long tmp = tl.scratch.take(bytes);
                launchNow(tl, "permute", TaskLowering.grid(elements), repackArgs(tl, p, tmp, o, c, k));
                launchNow(tl, "copy_rows", TaskLowering.grid(elements), tl.args().ptr(tmp).i64(0).i64(0).ptr(p).i64(0).i64(0).i64(1).i64(elements));
                tl.plan.build().finish();   // a resident copy: complete before another thread's plan takes it
            });
        }
        long taps = tl.scratch.take(bytes);
        KernelLaunch l = KernelLaunch.of("temporal taps repack", tl.backend.kernels.function("layout", "permute", tl.act),
                TaskLowering.grid(elements), 1, TaskLowering.BLOCK, 0, repackArgs(tl, tl.operand(w), taps, o, c, k));
        tl.plan.addStep("temporal taps repack", stream -> l.run(tl.backend.driver, stream));
        return taps;
    }

    /** layout.cu permute from w [O, C, k] to [O, k, C]: output axes (o, t, c) read at input strides (C·k, 1, k). */
    private static KernelLaunch.Args repackArgs(TaskLowering tl, long w, long taps, int o, int c, int k) {
        return tl.args().ptr(w).ptr(taps).i64((long) o * c * k)
                .rankedStruct(PERMUTE_MAX_RANK, 3, new long[]{o, k, c}, new long[]{(long) c * k, 1, k});
    }

    /** image[o, p] = bias[o]: layout.cu permute with input strides (1, 0), a step of every run (bias may be an input). */
    private static void fillBiasImage(TaskLowering tl, long bias, long image, int o, long hw) {
        long n = (long) o * hw;
        KernelLaunch l = KernelLaunch.of("temporal bias image", tl.backend.kernels.function("layout", "permute", tl.act),
                TaskLowering.grid(n), 1, TaskLowering.BLOCK, 0,
                tl.args().ptr(bias).ptr(image).i64(n).rankedStruct(PERMUTE_MAX_RANK, 2, new long[]{o, hw}, new long[]{1, 0}));
        tl.plan.addStep("temporal bias image", stream -> l.run(tl.backend.driver, stream));
    }

    private static void launchNow(TaskLowering tl, String kernel, int grid, KernelLaunch.Args args) {
        KernelLaunch.of(kernel, tl.backend.kernels.function("layout", kernel, tl.act), grid, 1, TaskLowering.BLOCK, 0, args)
                .run(tl.backend.driver, tl.plan.build().stream());
    }
}
