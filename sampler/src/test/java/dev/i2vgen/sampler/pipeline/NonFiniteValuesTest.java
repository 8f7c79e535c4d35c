package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.io.safetensors.SafetensorsWriter;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs whose numbers go bad on the tiny checkpoints stop with a {@link NonFiniteValuesException} naming the stage,
 * the step and what to try, instead of returning a black video: a guidance scale beyond float32, and NaN/Inf planted
 * in one weight of a copy of the checkpoint (written with the project's safetensors writer).
 */
class NonFiniteValuesTest {
    static Backend jvm;
    static final RgbImage IMAGE = RgbImage.black(48, 32);

    @BeforeAll
    static void open() { jvm = Backends.create("jvm"); }

    @AfterAll
    static void close() { jvm.close(); }

    /** The tiny case's sizes (3 steps, 2 frames to keep it quick), guidance {@code guidance}. */
    static GenerationRequest.Builder request(double guidance) {
        return GenerationRequest.builder("a fox", IMAGE).height(32).width(48).numFrames(2).steps(3).guidance(guidance).seed(8888L);
    }

    @Test
    void guidanceBeyondFloat32StopsAtTheFirstDenoisingStep() {
        NonFiniteValuesException e = generate(bundled("tiny"), DType.F32, request(1e308).build());
        assertStep(e, "denoise", 1, 3);
        assertTrue(e.getMessage().startsWith("denoise: the latents became NaN or infinite at step 1 of 3 (timestep "), e.getMessage());
        assertTrue(e.hints().getFirst().contains("--guidance 1.0E308 exceeds float32"), "the cause comes first: " + e.hints());
    }

    /** fp16: the precision hint; the flag reads the latents in their fp16 storage. */
    @Test
    void guidanceBeyondFloat32InFp16NamesThePrecisionToo() {
        NonFiniteValuesException e = generate(bundled("tiny"), DType.F16, request(1e308).build());
        assertStep(e, "denoise", 1, 3);
        assertTrue(e.getMessage().contains("--dtype bf16 or fp32"), e.getMessage());
    }

    /** A listener that reads the step's tensors also reads the flag: the run stops at the bad step, not after the loop. */
    @Test
    void aListenerReadingTensorsStopsTheLoopAtTheBadStep() {
        List<String> names = new java.util.ArrayList<>();
        PipelineListener recording = new PipelineListener() {
            @Override public boolean wantsTensors() { return true; }
            @Override public void tensor(String name, Tensor value) { names.add(name); }
        };
        try (ReferenceCase ref = bundled("tiny"); I2VGenXLPipeline p = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), jvm, DType.F32)) {
            NonFiniteValuesException e = assertThrows(NonFiniteValuesException.class, () -> p.generate(request(1e308).build(), recording));
            assertStep(e, "denoise", 1, 3);
        }
        assertTrue(names.contains("step.0.prev_sample") && !names.contains("step.1.prev_sample"), "stopped after step 1: " + names);
    }

    @Test
    void hostSteppedSchedulersAreCheckedEveryStep() {
        GenerationRequest req = request(1e308).scheduler(SchedulerSpec.parse("DDPMScheduler:thresholding=true")).build();
        assertStep(generate(bundled("tiny"), DType.F32, req), "denoise", 1, 3);
    }

    @Test
    void i4vgenStopsInNiVsds() {
        GenerationRequest req = request(1e308).i4vgen(I4VGenOptions.defaults()).build();
        NonFiniteValuesException e = generate(bundled("tiny"), DType.F32, req);
        assertEquals("ni-vsds", e.stage(), e.getMessage());
        assertEquals(1, e.step(), e.getMessage());
    }

    @Test
    void svdGuidanceBeyondFloat32StopsAtTheFirstDenoisingStep() {
        SvdGenerationRequest req = SvdGenerationRequest.builder(IMAGE).height(32).width(48).numFrames(2).steps(2)
                .maxGuidance(1e308).seed(1L).build();
        NonFiniteValuesException e;
        try (ReferenceCase ref = bundled("svd-tiny");
             StableVideoDiffusionPipeline p = StableVideoDiffusionPipeline.fromPretrained(ref.checkpoint(), jvm, DType.F32)) {
            e = assertThrows(NonFiniteValuesException.class, () -> p.generate(req));
        }
        assertStep(e, "denoise", 1, 2);
        assertTrue(e.getMessage().contains("--max-guidance 1.0E308 exceeds float32"), e.getMessage());
    }

    @Test
    void aNanUNetWeightStopsAtTheFirstStep(@TempDir Path tmp) throws IOException {
        Path ckpt = withWeight(tmp, "unet", "conv_in.weight", 5, Float.NaN);
        NonFiniteValuesException e = generate(ckpt, DType.F32, request(9).build());
        assertStep(e, "denoise", 1, 3);
        assertTrue(e.getMessage().contains("check the checkpoint's weights for NaN/Inf values"), e.getMessage());
    }

    @Test
    void anInfiniteUNetBiasStopsAtTheFirstStepWithoutGuidance(@TempDir Path tmp) throws IOException {
        Path ckpt = withWeight(tmp, "unet", "conv_out.bias", 2, Float.POSITIVE_INFINITY);
        NonFiniteValuesException e = generate(ckpt, DType.F32, request(1).build());
        assertStep(e, "denoise", 1, 3);
        assertFalse(e.getMessage().contains("guidance"), "no guidance without CFG: " + e.getMessage());
    }

    @Test
    void aNanTextEncoderWeightStopsBeforeDenoising(@TempDir Path tmp) throws IOException {
        Path ckpt = withWeight(tmp, "text_encoder", "final_layer_norm.bias", 3, Float.NaN);
        NonFiniteValuesException e = generate(ckpt, DType.F32, request(9).build());
        assertEquals("encode prompt: the prompt embeddings became NaN or infinite; try: check the text encoder's weights for NaN/Inf values",
                e.getMessage());
        assertEquals(0, e.step());
    }

    @Test
    void aNanVaeDecoderWeightStopsInDecoding(@TempDir Path tmp) throws IOException {
        Path ckpt = withWeight(tmp, "vae", "decoder.conv_out.bias", 1, Float.NaN);
        NonFiniteValuesException e = generate(ckpt, DType.F32, request(9).build());
        assertEquals("decode: the decoded frames became NaN or infinite; try: check the VAE decoder's weights for NaN/Inf values",
                e.getMessage());
    }

    /** The same requests with finite numbers run through: the checks raise nothing by themselves. */
    @Test
    void finiteRunsAreNotFlagged() {
        try (ReferenceCase ref = bundled("tiny"); I2VGenXLPipeline p = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), jvm, DType.F16)) {
            assertEquals(2, p.generate(request(9).build()).frames().size());
        }
    }

    private static void assertStep(NonFiniteValuesException e, String stage, int step, int steps) {
        assertEquals(stage, e.stage(), e.getMessage());
        assertEquals(step, e.step(), e.getMessage());
        assertEquals(steps, e.steps(), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    private static ReferenceCase bundled(String name) { return ReferenceCase.bundled(name); }

    private static NonFiniteValuesException generate(ReferenceCase ref, DType dtype, GenerationRequest req) {
        try (ref) {
            return generate(ref.checkpoint(), dtype, req);
        }
    }

    private static NonFiniteValuesException generate(Path checkpoint, DType dtype, GenerationRequest req) {
        try (I2VGenXLPipeline p = I2VGenXLPipeline.fromPretrained(checkpoint, jvm, dtype)) {
            return assertThrows(NonFiniteValuesException.class, () -> p.generate(req));
        }
    }

    /** A copy of the tiny checkpoint whose {@code component} weight {@code tensor} holds {@code value} at flat {@code index}. */
    private static Path withWeight(Path tmp, String component, String tensor, long index, float value) throws IOException {
        Path copy = tmp.resolve("checkpoint");
        try (ReferenceCase ref = bundled("tiny"); Stream<Path> files = Files.walk(ref.checkpoint())) {
            Path src = ref.checkpoint();
            for (Path f : files.toList()) {
                Path to = copy.resolve(src.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(to);
                else Files.copy(f, to);
            }
        }
        Path weights;
        try (Stream<Path> files = Files.list(copy.resolve(component))) {
            weights = files.filter(f -> f.toString().endsWith(".safetensors")).findFirst().orElseThrow();
        }
        Map<String, Tensor> all = new LinkedHashMap<>();
        Map<String, String> meta;
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (String name : f.names()) {   // copies on the heap: the mapping is gone once the file is rewritten
                Tensor mapped = f.get(name), heap = Tensor.allocate(mapped.dtype(), mapped.shape());
                MemorySegment.copy(mapped.contiguousSegment(), 0, heap.contiguousSegment(), 0, mapped.byteSize());
                all.put(name, heap);
            }
            meta = Map.copyOf(f.metadata());
        }
        Tensor t = all.get(tensor);
        assertTrue(t != null && t.dtype() == DType.F32, component + " has no F32 tensor " + tensor);
        t.setFlat(index, value);
        SafetensorsWriter.write(weights, all, meta);
        return copy;
    }
}
