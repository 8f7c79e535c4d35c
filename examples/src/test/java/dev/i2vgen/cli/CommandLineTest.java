package dev.i2vgen.cli;

import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.MemoryExhaustedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Option parsing and validation of the command line (no generation: these fail before any model work). */
class CommandLineTest {
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = I2VGenCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void helpListsEveryGenerateOption() {
        Result r = run("generate", "--help");
        assertEquals(0, r.code());
        for (String opt : List.of("--model", "--image", "--prompt", "--negative-prompt", "--height", "--width", "--frames",
                "--steps", "--guidance", "--fps", "--eta", "--seed", "--decode-chunk", "--device", "--dtype", "--output",
                "--min-guidance", "--max-guidance", "--motion-bucket-id", "--noise-aug-strength", "--scheduler", "--i4vgen",
                "--ni-vsds-fraction", "--ni-vsds-step-sizes", "--regeneration-strength", "--save-intermediate")) {
            assertTrue(r.out().contains(opt), "help lacks " + opt);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--height|100|--height must be a positive multiple of 8",
            "--width|0|--width must be a positive multiple of 8",
            "--frames|0|--frames must be at least 1",
            "--steps|1001|--steps must be between 1 and 1000",
            "--guidance|-1|--guidance must be a finite number >= 0",
            "--fps|0|--fps must be at least 1",
            "--eta|-0.5|--eta must be >= 0",
            "--decode-chunk|zero|--decode-chunk must be a number >= 1 or 'all'",
            "--device|tpu|--device must be jvm, cuda, opencl or tornado",
            "--dtype|fp8|--dtype: unknown precision 'fp8'",
            "--min-guidance|-1|--min-guidance must be a finite number >= 0",
            "--max-guidance|NaN|--max-guidance must be a finite number >= 0",
            "--motion-bucket-id|-3|--motion-bucket-id must be >= 0",
            "--noise-aug-strength|-0.1|--noise-aug-strength must be a finite number >= 0",
    })
    void badValuesAreNamed(String option, String value, String message, @TempDir Path tmp) {
        Result r = run("generate", option, value, "--output", tmp.resolve("out.mp4").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
    }

    /** Without the optional module (this module's class path never has it) --device tornado says how to get it. */
    @Test
    void tornadoWithoutItsModuleSaysHowToInstallIt(@TempDir Path tmp) {
        Result r = run("generate", "--device", "tornado", "--output", tmp.resolve("out.mp4").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--device tornado needs the optional tornado-backend module") && r.err().contains("TORNADOVM_HOME"), r.err());
        assertFalse(Files.exists(tmp.resolve("out.mp4")));
    }

    @Test
    void missingImageAndBadOutputAreReported(@TempDir Path tmp) throws Exception {
        Path model = Files.createDirectory(tmp.resolve("model"));
        Result r = run("generate", "--model", model.toString(), "--image", tmp.resolve("nope.png").toString(),
                "--prompt", "x", "--output", tmp.resolve("o.mp4").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("nope.png does not exist"), r.err());

        r = run("generate", "--output", tmp.resolve("out.avi").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--output"), r.err());

        r = run("generate", "--output", tmp.resolve("missing-folder/out.mp4").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("does not exist"), r.err());
    }

    @Test
    void schedulerListPrintsEveryClassAndItsOptions() {
        Result r = run("generate", "--scheduler", "list");
        assertEquals(0, r.code(), r.err());
        for (String name : List.of("DDIMScheduler", "DDPMScheduler", "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler",
                "DPMSolverMultistepScheduler", "UniPCMultistepScheduler", "LCMScheduler", "use_karras_sigmas", "solver_type")) {
            assertTrue(r.out().contains(name), "list lacks " + name);
        }
    }

    /** A wrong class, option or value is a usage error naming it, before the checkpoint is even read. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "PNDMScheduler|does not support",
            "FooScheduler|unknown scheduler class 'FooScheduler'",
            "DPMSolverMultistepScheduler:foo=1|unknown DPMSolverMultistepScheduler option 'foo'",
            "DPMSolverMultistepScheduler:use_karras_sigmas=maybe|'use_karras_sigmas' must be true or false",
            "UniPCMultistepScheduler:solver_order|has no '=' (expected key=value)"})
    void badSchedulerSpecsAreNamed(String spec, String message, @TempDir Path tmp) {
        Result r = run("generate", "--scheduler", spec, "--output", tmp.resolve("o.gif").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--scheduler: ") && r.err().contains(message), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    /**
     * Combinations diffusers itself cannot run on the checkpoint's schedule (NaN latents, an IndexError at the end)
     * and η for a scheduler that takes none: refused with the reason before any weights are read, no file written.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "UniPCMultistepScheduler:solver_type=bh1|0|would return a black video",
            "DPMSolverMultistepScheduler:use_karras_sigmas=true|0|index_for_timestep",
            "EulerDiscreteScheduler|0.5|takes no eta"})
    void schedulerCombinationsDiffusersCannotRunAreRefused(String spec, String eta, String message, @TempDir Path tmp) {
        Path out = tmp.resolve("o.gif");
        Result r = run("generate", "--scheduler", spec, "--steps", "8", "--eta", eta, "--output", out.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(message), r.err());
        assertFalse(Files.exists(out));
    }

    /** I4VGen's options: validated with the option named, before any work. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--ni-vsds-fraction 0.5|--ni-vsds-fraction is an I4VGen option: add --i4vgen",
            "--save-intermediate DIR|--save-intermediate is an I4VGen option: add --i4vgen",
            "--i4vgen --ni-vsds-fraction 1.5|ni_vsds_fraction (p_ni) must be in (0, 1], got 1.5",
            "--i4vgen --regeneration-strength 0.2|regenerates ⌊3·0.2⌋ = 0 steps",
            "--i4vgen --ni-vsds-step-sizes 1,NaN|NI-VSDS step sizes must be finite",
            "--i4vgen --scheduler EulerDiscreteScheduler|--i4vgen runs with DDIMScheduler"})
    void i4vgenOptionsAreValidated(String options, String message, @TempDir Path tmp) {
        List<String> args = new ArrayList<>(List.of("generate", "--output", tmp.resolve("o.gif").toString()));
        for (String o : options.split(" ")) args.add(o.equals("DIR") ? tmp.resolve("i").toString() : o);
        Result r = run(args.toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(message), r.err());
    }

    @Test
    void brokenCheckpointIsReportedWithTheFileNotAStackTrace(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("model");
        Path src;
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) { src = ref.checkpoint(); }
        copyTree(src, model);
        Path unet = model.resolve("unet/diffusion_pytorch_model.safetensors");
        byte[] bytes = Files.readAllBytes(unet);
        Files.write(unet, Arrays.copyOf(bytes, bytes.length / 2)); // truncated weights
        Path image = tmp.resolve("in.png");
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) { Files.copy(ref.inputImage(), image); }
        Result r = run("generate", "--model", model.toString(), "--image", image.toString(), "--prompt", "a cat",
                "--output", tmp.resolve("o.gif").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("diffusion_pytorch_model.safetensors"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace expected: " + r.err());
        assertFalse(Files.exists(tmp.resolve("o.gif")));
    }

    /** An option of the other model family is an error naming the option and the checkpoint's pipeline, before any work. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "svd-tiny|--prompt|a cat|--prompt is not an option of StableVideoDiffusionPipeline",
            "svd-tiny|--negative-prompt|blurry|--negative-prompt is not an option of StableVideoDiffusionPipeline",
            "svd-tiny|--guidance|7|--guidance is not an option of StableVideoDiffusionPipeline",
            "svd-tiny|--eta|0.5|--eta is not an option of StableVideoDiffusionPipeline",
            "tiny|--motion-bucket-id|127|--motion-bucket-id is not an option of I2VGenXLPipeline",
            "tiny|--noise-aug-strength|0.02|--noise-aug-strength is not an option of I2VGenXLPipeline",
            "tiny|--min-guidance|1|--min-guidance is not an option of I2VGenXLPipeline",
            "tiny|--max-guidance|3|--max-guidance is not an option of I2VGenXLPipeline",
            "svd-tiny|--i4vgen||--i4vgen is not an option of StableVideoDiffusionPipeline",
    })
    void optionsOfTheOtherModelAreRefused(String caseName, String option, String value, String message, @TempDir Path tmp) {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName)) {
            List<String> args = new ArrayList<>(List.of("generate", "--model", ref.checkpoint().toString(), "--image",
                    ref.inputImage().toString(), option, "--output", tmp.resolve("o.mp4").toString()));
            if (value != null) args.add(args.indexOf(option) + 1, value);   // a flag has none
            if (caseName.equals("tiny") && !option.equals("--prompt")) args.addAll(List.of("--prompt", "a cat"));
            Result r = run(args.toArray(String[]::new));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
            assertFalse(Files.exists(tmp.resolve("o.mp4")));
        }
    }

    @Test
    void withoutModelTheDemoIsI2VGenXlAndRefusesSvdOptions(@TempDir Path tmp) {
        Result r = run("generate", "--motion-bucket-id", "30", "--output", tmp.resolve("o.mp4").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--motion-bucket-id is not an option of I2VGenXLPipeline"), r.err());
        assertTrue(r.err().contains("built-in I2VGen-XL demo"), r.err());
    }

    @Test
    void anUnsupportedPipelineClassIsNamed(@TempDir Path tmp) throws Exception {
        Path model = Files.createDirectory(tmp.resolve("model"));
        Files.writeString(model.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\"}");
        Path image = tmp.resolve("in.png");
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) { Files.copy(ref.inputImage(), image); }
        Result r = run("generate", "--model", model.toString(), "--image", image.toString(), "--output", tmp.resolve("o.mp4").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("StableDiffusionPipeline") && r.err().contains("model_index.json")
                && r.err().contains("StableVideoDiffusionPipeline"), r.err());
    }

    /** Every command's --help lists the exit codes, one meaning each. */
    @ParameterizedTest
    @CsvSource({"--help", "generate --help", "tokenize --help", "bench --help"})
    void helpDocumentsTheExitCodes(String args) {
        Result r = run(args.split(" "));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Exit codes:"), r.out());
        for (String line : List.of("0 +success", "1 +failure while running", "2 +bad input", "130 +interrupted \\(SIGINT", "143 +terminated \\(SIGTERM\\)")) {
            assertTrue(r.out().lines().anyMatch(l -> l.strip().matches(line + ".*")), "no '" + line + "' in:\n" + r.out());
        }
    }

    /** A command that fails with a JVM error, as the pipeline can (out of memory, a fault reading a mapped file). */
    @CommandLine.Command(name = "fail")
    static final class FailingCommand implements java.util.concurrent.Callable<Integer> {
        @CommandLine.Parameters String what;

        @Override
        public Integer call() {
            if (what.equals("heap")) throw new OutOfMemoryError("Java heap space");
            if (what.equals("fault")) throw new InternalError("a fault occurred in an unsafe memory access operation");
            throw MemoryExhaustedException.device(12L << 30, "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory")
                    .allocating("the intermediate buffers of graph 'unet'");
        }
    }

    /** Errors, not only Exceptions, reach the handler: one line, what to try, exit code 1, no stack trace. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "heap|error: out of host memory (Java heap space; max heap |try --decode-chunk 1",
            "device|error: out of device memory allocating 12.0 GiB for the intermediate buffers of graph 'unet'|a smaller --height/--width or fewer --frames, or --dtype fp16",
            "fault|error: internal error: java.lang.InternalError: a fault occurred|"})
    void jvmErrorsAreOneLineWithWhatToTry(String what, String start, String hint) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = I2VGenCommand.commandLine();
        cl.addSubcommand(new CommandLine(new FailingCommand()));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute("fail", what);
        assertEquals(1, code, err.toString());
        assertTrue(err.toString().startsWith(start), err.toString());
        assertTrue(hint == null || err.toString().contains(hint), err.toString());
        assertEquals(1, err.toString().lines().count(), "one line: " + err);
    }

    /**
     * Sizes the run cannot hold, and a frame size the encoder cannot take, are refused naming the option and its bound
     * before any work (the demo used to run and then fail with an OutOfMemoryError, an index error or a
     * BufferOverflowException in the MP4 encoder).
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--width 2147483640|o.mp4|--width must be at most 22456 at --height 32, got 2147483640: the input image scaled for CLIP",
            "--frames 2000000000|o.gif|at --height 32 and --width 48, got 2000000000: the decoded video",   // its bound depends on the heap
            "--height 65536 --width 65536|frames|--height must be at most 22456, got 65536: the input image scaled for the VAE",
            "--height 8 --width 8|o.mp4|o.mp4: the MP4 encoder (jcodec H.264) needs frames of at least 32×32 pixels, got 8×8"})
    void sizesTheRunCannotHoldAreRefusedBeforeAnyWork(String options, String output, String message, @TempDir Path tmp) {
        List<String> args = new ArrayList<>(List.of("generate", "--output", tmp.resolve(output).toString()));
        args.addAll(List.of(options.split(" ")));
        Result r = run(args.toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
        assertFalse(r.err().contains("Device:"), "refused before the backend started: " + r.err());
        assertFalse(Files.exists(tmp.resolve(output)));
    }

    /** An output that cannot be written is refused before any work, not after the run. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "existing-dir.mp4|is a directory, expected a file path",
            "non-empty|directory exists and is not empty",
            "EMPTY|the output path is empty",
            "/proc/o.gif|cannot create files in folder /proc"})
    void outputsThatCannotBeWrittenAreRefusedBeforeAnyWork(String output, String message, @TempDir Path tmp) throws Exception {
        Files.createDirectory(tmp.resolve("existing-dir.mp4"));
        Files.writeString(Files.createDirectory(tmp.resolve("non-empty")).resolve("mine.txt"), "keep");
        String target = output.equals("EMPTY") ? "" : output.startsWith("/") ? output : tmp.resolve(output).toString();
        if (output.startsWith("/proc")) org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self")));
        Result r = run("generate", "--output", target);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--output") && r.err().contains(message), r.err());
        assertFalse(r.err().contains("Device:"), r.err());
        assertEquals("keep", Files.readString(tmp.resolve("non-empty/mine.txt")));
    }

    /** A parse or validation error is one line naming the option, not followed by the whole usage. */
    @Test
    void parseErrorsAreOneLine(@TempDir Path tmp) {
        Result r = run("generate", "--widht", "64", "--output", tmp.resolve("o.gif").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("error: Unknown options: '--widht', '64'; did you mean --width?"), r.err());
    }

    /** Seeds as torch.manual_seed takes them: [−2⁶³, 2⁶⁴), a negative one being the same 64 bits as torch makes of it. */
    @ParameterizedTest
    @CsvSource({"18446744073709551615,-1", "9223372036854775808,-9223372036854775808", "-1,-1", "42,42"})
    void seedsUpToTwoToTheSixtyFourAreAccepted(String seed, long bits, @TempDir Path tmp) {
        CommandLine cl = new CommandLine(new GenerateCommand());
        cl.parseArgs("--seed", seed, "--output", tmp.resolve("o.gif").toString());
        GenerateCommand command = cl.getCommand();
        assertEquals(bits, command.validate().job().seed());
    }

    @Test
    void seedsOutsideTorchsRangeAreNamed(@TempDir Path tmp) {
        Result r = run("generate", "--seed", "18446744073709551616", "--output", tmp.resolve("o.gif").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--seed") && r.err().contains("18446744073709551615 (the range torch.manual_seed takes)"), r.err());
    }

    /** Bad input has code 2 whichever path finds it: an unreadable image is refused like a missing one. */
    @Test
    void anImageThatIsNoImageIsBadInput(@TempDir Path tmp) throws Exception {
        Path image = Files.writeString(tmp.resolve("in.png"), "not a png");
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) {
            Result r = run("generate", "--model", ref.checkpoint().toString(), "--image", image.toString(), "--prompt", "a cat",
                    "--output", tmp.resolve("o.gif").toString());
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("in.png"), r.err());
        }
    }

    /** A scheduler refused by the pipeline at its start (SVD needs a step graph) is bad input, as when validation refuses one. */
    @Test
    void aSchedulerRefusedAtThePipelinesStartIsBadInput(@TempDir Path tmp) {
        try (ReferenceCase ref = ReferenceCase.bundled("svd-tiny")) {
            Result r = run("generate", "--model", ref.checkpoint().toString(), "--image", ref.inputImage().toString(),
                    "--scheduler", "DDIMScheduler:thresholding=true", "--steps", "2", "--frames", "2", "--height", "32", "--width", "48",
                    "--output", tmp.resolve("o.gif").toString());
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("no step graph"), r.err());
            assertFalse(Files.exists(tmp.resolve("o.gif")));
        }
    }

    @Test
    void tokenizePrintsTheSeventySevenIds() {
        Result r = run("tokenize", "a", "cat");
        assertEquals(0, r.code(), r.err());
        String[] ids = r.out().trim().split(" ");
        assertEquals(77, ids.length);
        assertEquals("49406", ids[0]);
        assertEquals("320", ids[1]);   // "a</w>"
        assertEquals("2368", ids[2]);  // "cat</w>"
        assertEquals("49407", ids[3]);
    }

    static void copyTree(Path from, Path to) throws Exception {
        List<Path> all = new ArrayList<>();
        try (var s = Files.walk(from)) { s.forEach(all::add); }
        for (Path p : all) {
            Path t = to.resolve(from.relativize(p).toString());
            if (Files.isDirectory(p)) Files.createDirectories(t);
            else Files.copy(p, t);
        }
    }
}
