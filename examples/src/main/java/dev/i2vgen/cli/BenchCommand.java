package dev.i2vgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.model.common.RandomWeights;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.model.unet.UNetConfig;
import dev.i2vgen.model.unet.UNetInputs;
import dev.i2vgen.model.unet.UNetRunner;
import dev.i2vgen.model.unet.UNetShape;
import dev.i2vgen.model.unet.UNetStepGraph;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code i2vgen bench}: times the model stages on a backend with random weights of the released architecture
 * (no download; configs and tensor shapes ship in the jar under {@code bench/}), after warm-up, as the median of
 * repeats, next to diffusers' figures on an H100. {@code --small} uses the tiny demo model instead, for machines
 * without a GPU. Stages measured now: one UNet step with classifier-free guidance (batch 2).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Time the model stages with random weights (no download).")
public final class BenchCommand implements Callable<Integer> {
    /** diffusers 0.40 / torch 2.11 on an H100 80GB HBM3, fp16 (/work/shared/bench/anchor-diffusers-h100.json). */
    private static final Map<String, Double> DIFFUSERS_H100_S = Map.of(
            "unet_step_cfg", 0.7753711547851563,
            "vae_decode16_chunk1", 1.2446939697265624,
            "vae_decode16_chunk8", 0.7496409301757813,
            "pipeline_50_steps", 40.29994249343872);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--device", defaultValue = "cuda", description = "backend: cuda or jvm (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--dtype", defaultValue = "fp16", description = "activation precision: fp16, bf16 or fp32 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--small", description = "tiny demo architecture and shapes instead of the released model at 704x1280x16")
    boolean small;

    @Option(names = "--warmup", defaultValue = "2", description = "untimed runs per stage (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--repeats", defaultValue = "5", description = "timed runs per stage; the median is reported (default: ${DEFAULT-VALUE})")
    int repeats;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the figures as JSON")
    Path json;

    @Override
    public Integer call() throws Exception {
        DType act = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "fp16", "f16", "float16" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            case "fp32", "f32", "float32" -> DType.F32;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--dtype must be fp16, bf16 or fp32, not " + dtype);
        };
        if (warmup < 0 || repeats < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--warmup must be >= 0 and --repeats >= 1");
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode report = mapper.createObjectNode();
        report.put("device", device).put("dtype", act.toString()).put("small", small).put("warmup", warmup).put("repeats", repeats);
        ObjectNode stages = report.putObject("stages_s");

        try (Backend backend = Backends.create(device)) {
            UNetConfig config;
            TensorSource weights;
            UNetShape shape;
            if (small) {
                CheckpointFolder checkpoint = CheckpointFolder.open(DemoModel.unpack().resolve("checkpoint"));
                config = UNetConfig.fromJson(checkpoint.component("unet").config(), "demo unet config");
                weights = checkpoint.component("unet").weights();
                shape = new UNetShape(2, 4, 8, 8, 77);
            } else {
                config = UNetConfig.fromJson(resourceJson(mapper, "unet.config.json"), "bench/unet.config.json");
                try (InputStream in = resource("i2vgen-xl-tensors.tsv")) {
                    weights = RandomWeights.fromTensorList(in, "bench/i2vgen-xl-tensors.tsv", "unet", 20251122L);
                }
                shape = new UNetShape(2, 16, 88, 160, 77);
            }
            out.printf("bench on %s, %s, UNet %s at batch %d x %d frames x %dx%d latents%n", device, act,
                    small ? "demo (tiny)" : "I2VGen-XL (random weights)", shape.batch(), shape.frames(), shape.height(), shape.width());
            out.flush();
            long t0 = System.nanoTime();
            UNetStepGraph graph = new I2VGenXLUNet(config, weights).buildGraph(shape, act, false);
            try (UNetRunner runner = new UNetRunner(graph, backend)) {
                UNetInputs inputs = randomInputs(shape, config);
                runner.run(inputs);   // compiles kernels, uploads weights
                report.put("unet_first_call_s", (System.nanoTime() - t0) / 1e9);
                stages.put("unet_step_cfg", medianSeconds(() -> runner.run(inputs)));
            }
        }

        out.printf("%-22s %12s %14s %8s%n", "stage", "this (s)", "diffusers (s)", "ratio");
        for (String stage : new String[]{"unet_step_cfg", "vae_decode16_chunk1", "vae_decode16_chunk8", "pipeline_50_steps"}) {
            JsonNode mine = stages.get(stage);
            Double ref = small ? null : DIFFUSERS_H100_S.get(stage);
            out.printf("%-22s %12s %14s %8s%n", stage, mine == null ? "not measured" : String.format(Locale.ROOT, "%.4f", mine.asDouble()),
                    ref == null ? "-" : String.format(Locale.ROOT, "%.4f", ref),
                    mine == null || ref == null ? "-" : String.format(Locale.ROOT, "%.2fx", ref / mine.asDouble()));
        }
        if (!small) report.set("diffusers_h100_s", mapper.valueToTree(DIFFUSERS_H100_S));
        out.flush();
        if (json != null) writeAtomically(mapper, report, json);
        return 0;
    }

    private double medianSeconds(Runnable stage) {
        for (int i = 0; i < warmup; i++) stage.run();
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long s = System.nanoTime();
            stage.run();   // returns after the result is read back: the device work is complete
            t[i] = (System.nanoTime() - s) / 1e9;
        }
        Arrays.sort(t);
        return repeats % 2 == 1 ? t[repeats / 2] : (t[repeats / 2 - 1] + t[repeats / 2]) / 2;
    }

    private static UNetInputs randomInputs(UNetShape s, UNetConfig c) {
        SplittableRandom r = new SplittableRandom(1);
        int[] video = {s.batch(), c.inChannels(), s.frames(), s.height(), s.width()};
        return new UNetInputs(gaussian(r, video), UNetInputs.scalar(981f),
                gaussian(r, s.batch(), s.textLength(), c.crossAttentionDim()), UNetInputs.scalar(16f),
                gaussian(r, video), gaussian(r, s.batch(), 1, c.crossAttentionDim()));
    }

    private static Tensor gaussian(SplittableRandom r, int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.fromFloats(v, shape);
    }

    private static InputStream resource(String name) {
        InputStream in = BenchCommand.class.getResourceAsStream("/bench/" + name);
        if (in == null) throw new IllegalStateException("bench resource /bench/" + name + " is missing from the jar");
        return in;
    }

    private static JsonNode resourceJson(ObjectMapper mapper, String name) throws IOException {
        try (InputStream in = resource(name)) {
            return mapper.readTree(in);
        }
    }

    private static void writeAtomically(ObjectMapper mapper, JsonNode report, Path file) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
            mapper.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), report);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
