package dev.i2vgen.conformance;

import dev.i2vgen.cli.I2VGenCommand;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code i2vgen generate} on each reference case from its seed, writing PNG frames: frames within ±1 of diffusers.
 * The same command runs both model families; the checkpoint's model_index.json picks the pipeline.
 */
class CommandLineConformanceTest {
    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void generateReproducesTheReferenceFrames(String caseName, @TempDir Path tmp) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName)) {
            List<String> args = new ArrayList<>(List.of("--prompt", ref.prompt(),
                    "--height", "" + ref.height(), "--width", "" + ref.width(), "--frames", "" + ref.numFrames(),
                    "--steps", "" + ref.steps(), "--guidance", "" + ref.guidance(), "--fps", "" + ref.fps(),
                    "--decode-chunk", ref.decodeChunkSize() == null ? "all" : "" + ref.decodeChunkSize()));
            if (ref.negativePrompt() != null) args.addAll(List.of("--negative-prompt", ref.negativePrompt()));
            generateAndCompare(ref, args, tmp);
        }
    }

    /** I2VGen-XL with another scheduler: {@code --scheduler NAME[:key=value,...]} as recorded in the case. */
    @ParameterizedTest
    @MethodSource("dev.i2vgen.conformance.SchedulerConformanceTest#cases")
    void generateWithASwappedSchedulerReproducesTheReferenceFrames(String caseName, @TempDir Path tmp) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName)) {
            List<String> args = new ArrayList<>(List.of("--prompt", ref.prompt(), "--negative-prompt", ref.negativePrompt(),
                    "--height", "" + ref.height(), "--width", "" + ref.width(), "--frames", "" + ref.numFrames(),
                    "--steps", "" + ref.steps(), "--guidance", "" + ref.guidance(), "--fps", "" + ref.fps(),
                    "--decode-chunk", "" + ref.decodeChunkSize(), "--scheduler", SchedulerConformanceTest.specText(ref)));
            generateAndCompare(ref, args, tmp);
        }
    }

    /**
     * I4VGen through {@code --i4vgen} and its options, the NI-VSDS result written by {@code --save-intermediate}: both
     * within ±1 of the reference implementation's frames.
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-i4vgen", "tiny-i4vgen-steps", "tiny-i4vgen-eta"})
    void generateWithI4VGenReproducesTheReferenceFrames(String caseName, @TempDir Path tmp) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName)) {
            var o = ref.json().get("i4vgen");
            List<String> stepSizes = new ArrayList<>();
            o.get("step_sizes").forEach(v -> stepSizes.add(v.asText()));
            Path intermediate = tmp.resolve("ni-vsds");
            List<String> args = new ArrayList<>(List.of("--prompt", ref.prompt(), "--negative-prompt", ref.negativePrompt(),
                    "--height", "" + ref.height(), "--width", "" + ref.width(), "--frames", "" + ref.numFrames(),
                    "--steps", "" + ref.steps(), "--guidance", "" + ref.guidance(), "--fps", "" + ref.fps(),
                    "--eta", ref.json().get("eta").asText(), "--decode-chunk", "" + ref.decodeChunkSize(), "--i4vgen",
                    "--ni-vsds-fraction", o.get("ni_vsds_fraction").asText(), "--ni-vsds-step-sizes", String.join(",", stepSizes),
                    "--regeneration-strength", o.get("regeneration_strength").asText(), "--save-intermediate", intermediate.toString()));
            generateAndCompare(ref, args, tmp);
            Tensor expected = ref.tensor("i4vgen.ni_vsds.frames_float");
            List<RgbImage> images = new ArrayList<>();
            for (int k = 0; k < ref.numFrames(); k++) images.add(ImageLoader.read(intermediate.resolve(String.format("frame_%04d.png", k))));
            float[] v = expected.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] = Math.round(v[i] * 255f);
            int maxDiff = ReferenceFrames.maxDifference(images, Tensor.fromFloats(v, expected.shape()));
            assertTrue(maxDiff <= 1, caseName + ": the NI-VSDS frames differ from the reference by up to " + maxDiff);
        }
    }

    /** I4VGen on the checkpoint in the released layout (fp16 variant files, tokenizer.json only), to an MP4. */
    @Test
    void i4vgenRunsOnTheReleasedLayoutCheckpoint(@TempDir Path tmp) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny-fp16")) {
            Path out = tmp.resolve("video.mp4"), intermediate = tmp.resolve("ni-vsds.gif");
            StringWriter so = new StringWriter(), se = new StringWriter();
            var cl = I2VGenCommand.commandLine();
            cl.setOut(new PrintWriter(so, true));
            cl.setErr(new PrintWriter(se, true));
            int code = cl.execute("generate", "--model", ref.checkpoint().toString(), "--image", ref.inputImage().toString(),
                    "--prompt", ref.prompt(), "--height", "32", "--width", "64", "--frames", "3", "--steps", "5",
                    "--i4vgen", "--save-intermediate", intermediate.toString(), "--seed", "7", "--output", out.toString());
            assertEquals(0, code, se.toString());
            assertTrue(Files.size(out) > 1000 && Files.size(intermediate) > 100, "no video written: " + so);
            assertTrue(so.toString().contains("Wrote the NI-VSDS result"), so.toString());
        }
    }

    /** Stable Video Diffusion through the same command, with its own options (no prompt). */
    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked", "svd-tiny-fp16", "svd-tiny-14", "svd-tiny-ancestral", "svd-tiny-dpmpp"})
    void generateReproducesTheSvdReferenceFrames(String caseName, @TempDir Path tmp) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName)) {
            var j = ref.json();
            List<String> args = new ArrayList<>(List.of("--height", "" + ref.height(), "--width", "" + ref.width(),
                    "--steps", "" + ref.steps(), "--min-guidance", j.get("min_guidance").asText(),
                    "--max-guidance", j.get("max_guidance").asText(), "--fps", "" + ref.fps(),
                    "--motion-bucket-id", j.get("motion_bucket_id").asText(), "--noise-aug-strength", j.get("noise_aug_strength").asText(),
                    "--decode-chunk", ref.decodeChunkSize() == null ? "all" : "" + ref.decodeChunkSize()));
            if (!j.get("num_frames").isNull()) args.addAll(List.of("--frames", "" + ref.numFrames()));   // else the UNet's default
            String scheduler = SchedulerConformanceTest.specText(ref);
            if (scheduler != null) args.addAll(List.of("--scheduler", scheduler));
            generateAndCompare(ref, args, tmp);
        }
    }

    private static void generateAndCompare(ReferenceCase ref, List<String> options, Path tmp) throws Exception {
        Path out = tmp.resolve("frames");
        List<String> args = new ArrayList<>(List.of("generate", "--model", ref.checkpoint().toString(),
                "--image", ref.inputImage().toString(), "--seed", "" + ref.seed(), "--output", out.toString()));
        args.addAll(options);
        StringWriter so = new StringWriter(), se = new StringWriter();
        var cl = I2VGenCommand.commandLine();
        cl.setOut(new PrintWriter(so, true));
        cl.setErr(new PrintWriter(se, true));
        int code = cl.execute(args.toArray(String[]::new));
        assertEquals(0, code, se.toString());
        int frames = ref.tensor("frames_uint8").dim(1);
        try (var files = Files.list(out)) {
            assertEquals(frames, files.count());
        }
        List<RgbImage> images = new ArrayList<>();
        for (int k = 0; k < frames; k++) images.add(ImageLoader.read(out.resolve(String.format("frame_%04d.png", k))));
        int maxDiff = ReferenceFrames.maxDifference(images, ref.tensor("frames_uint8"));
        assertTrue(maxDiff <= 1, ref.dir().getFileName() + ": frames differ from frames_uint8 by up to " + maxDiff);
    }
}
