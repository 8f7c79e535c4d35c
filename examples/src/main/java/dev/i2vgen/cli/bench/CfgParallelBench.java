package dev.i2vgen.cli.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.i2vgen.backend.Backend;
import dev.i2vgen.sampler.pipeline.PipelineListener;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/**
 * {@code i2vgen bench --devices A,B}: CFG-parallel (one video on two devices, a half of the guidance batch on each)
 * beside the same work on the first device alone, for either model: the UNet on one half (batch 1) on one device, the
 * split's ceiling against the batch-2 step; and the whole video on both devices against the video on the first alone,
 * back to back, with the denoising loop and its steady time per step (the UNet step as the loop runs it: both halves,
 * the exchange, the guided update). Issue 18's goal: the denoising loop at least {@value #GOAL}× faster.
 */
public final class CfgParallelBench {
    static final double GOAL = 1.85;

    /** One generation of the model's pipeline on these backends ({@code steps} steps, reporting to {@code listener}). */
    @FunctionalInterface
    public interface Generation {
        void run(List<Backend> devices, int steps, PipelineListener listener);
    }

    private record Figures(double video, double loop, double step) {}

    private final StageRunner runner;
    private final List<Backend> devices;
    private final String names;
    private Double halfStep, cfgStep;
    private Figures one, two;

    /** @param names the two devices in words ("cuda:0 + cuda:1") */
    public CfgParallelBench(StageRunner runner, List<Backend> devices, String names) {
        if (devices.size() != 2) throw new IllegalArgumentException("CFG-parallel bench needs two devices, got " + devices.size());
        this.runner = runner;
        this.devices = devices;
        this.names = names;
    }

    /** Times the UNet on one half of the guidance batch on the first device (a row of the report); {@code cfgStepKey}: the batch-2 row. */
    public void halfStep(String what, String cfgStepKey, StageRunner.StageFactory factory) {
        halfStep = runner.time("unet_step_half", what, null, null, null, factory);
        cfgStep = runner.report().rows().stream().filter(r -> r.key().equals(cfgStepKey)).map(BenchRow::value).findFirst().orElse(null);
    }

    /**
     * Times the whole video on the first device alone, then on both (each after an untimed 1-step run that builds its
     * plans; the median of {@code repeats}), and adds the two-device rows to the report.
     */
    public void wholeVideo(int steps, int repeats, String video, Generation generation) {
        if (repeats < 1) return;
        runner.announce("pipeline_" + steps + "_steps_one_device");
        one = time(List.of(devices.get(0)), steps, repeats, generation);
        runner.done(one.video, null);
        runner.announce("pipeline_" + steps + "_steps_cfg_parallel");
        two = time(devices, steps, repeats, generation);
        runner.done(two.video, null);
        runner.report().add(new BenchRow("denoise_" + steps + "_steps_cfg_parallel", "denoising loop on " + names, two.loop, "s", null, null));
        runner.report().add(new BenchRow("pipeline_" + steps + "_steps_cfg_parallel", "whole video on " + names + ", " + video,
                two.video, "s", null, null));
    }

    private Figures time(List<Backend> on, int steps, int repeats, Generation generation) {
        generation.run(on, 1, PipelineListener.NONE);
        double[] video = new double[repeats], loop = new double[repeats], step = new double[repeats];
        for (int r = 0; r < repeats; r++) {
            StageClock clock = new StageClock();
            long t0 = System.nanoTime();
            clock.start();
            generation.run(on, steps, clock);
            clock.stop();
            video[r] = (System.nanoTime() - t0) / 1e9;
            loop[r] = clock.seconds("denoise");
            step[r] = clock.secondsPerStepAfterFirst();
        }
        return new Figures(StageTimer.median(video), StageTimer.median(loop), StageTimer.median(step));
    }

    /** The comparison table (after the report's), and the same figures in the report's JSON under "cfg_parallel". */
    public void print(PrintWriter out) {
        ObjectNode json = runner.report().header().putObject("cfg_parallel");
        json.put("devices", names).put("goal_denoise_speedup", GOAL);
        out.println();
        out.println("CFG-parallel on " + names + " against the first device alone:");
        String fmt = "%-34s %12s %12s %9s %10s %5s%n";
        out.printf(fmt, "", "one device", "two devices", "speed-up", "goal", "met");
        if (one != null) {
            row(out, fmt, json, "unet_step_in_loop", "UNet step in the loop (CFG)", one.step, two.step, null);
            row(out, fmt, json, "denoise", "denoising loop", one.loop, two.loop, GOAL);
            row(out, fmt, json, "whole_video", "whole video", one.video, two.video, null);
        }
        if (halfStep != null && cfgStep != null) {
            out.printf(Locale.ROOT, "UNet on one half (batch 1) on one device: %.4f s, %.2f of the batch-2 step %.4f s:"
                    + " the split's ceiling is %.2fx%n", halfStep, halfStep / cfgStep, cfgStep, cfgStep / halfStep);
            json.put("unet_step_half_s", halfStep).put("unet_step_cfg_s", cfgStep).put("ceiling_speedup", cfgStep / halfStep);
        }
        out.flush();
    }

    private static void row(PrintWriter out, String fmt, ObjectNode json, String key, String what, double a, double b, Double goal) {
        double speedup = a / b;
        out.printf(fmt, what, seconds(a), seconds(b), String.format(Locale.ROOT, "%.2fx", speedup),
                goal == null ? "-" : String.format(Locale.ROOT, ">= %.2fx", goal), goal == null ? "-" : speedup >= goal ? "yes" : "no");
        ObjectNode n = json.putObject(key).put("one_device_s", a).put("two_devices_s", b).put("speedup", speedup);
        if (goal != null) n.put("meets_goal", speedup >= goal);
    }

    private static String seconds(double s) { return String.format(Locale.ROOT, "%.4f s", s); }
}
