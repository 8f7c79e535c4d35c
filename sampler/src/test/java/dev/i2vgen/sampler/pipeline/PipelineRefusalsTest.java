package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFormatException;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the pipelines refuse at the start of a run, and how a weight file truncated under a running pipeline is reported. */
class PipelineRefusalsTest {

    /** Reading a mapping past the end of a file truncated under it raises an InternalError; the pipeline names the file instead. */
    @Test
    void aWeightFileTruncatedWhileMappedIsNamed(@TempDir Path tmp) throws Exception {
        Path checkpoint = tmp.resolve("tiny");
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) { copyTree(ref.checkpoint(), checkpoint); }
        Path unet = checkpoint.resolve("unet/diffusion_pytorch_model.safetensors");
        try (Backend backend = Backends.create("jvm");
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(checkpoint, backend, DType.F32)) {
            long size = Files.size(unet);
            try (FileChannel ch = FileChannel.open(unet, StandardOpenOption.WRITE)) { ch.truncate(size / 2); }
            GenerationRequest req = GenerationRequest.builder("a cat", RgbImage.black(48, 32)).height(32).width(48)
                    .numFrames(2).steps(1).seed(1L).build();
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> pipeline.generate(req));
            assertEquals(unet, e.file());
            assertTrue(e.getMessage().contains("was truncated to " + size / 2 + " bytes while mapped (" + size + " bytes when opened)"), e.getMessage());
            assertInstanceOf(InternalError.class, rootCause(e), "the fault it explains");
        }
    }

    /** Sizes the run cannot hold are refused naming the parameter and its largest value, before any work. */
    @Test
    void sizesBeyondTheHostArraysAreRefusedAtTheStart() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny"); Backend backend = Backends.create("jvm");
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            GenerationRequest req = GenerationRequest.builder("a cat", RgbImage.black(48, 32)).height(32).width(48)
                    .numFrames(2_000_000_000).steps(1).seed(1L).build();
            List<String> stages = new ArrayList<>();
            RequestLimitException e = assertThrows(RequestLimitException.class, () -> pipeline.generate(req, new PipelineListener() {
                @Override public void stage(String name) { stages.add(name); }
            }));
            assertEquals("num_frames", e.parameter());
            assertTrue(e.getMessage().startsWith("num_frames must be at most " + e.max() + " at height 32 and width 48, got 2000000000: "),
                    e.getMessage());
            assertEquals(List.of(), stages, "refused before the first stage");
        }
    }

    /** A scheduler the SVD pipeline cannot run is a refusal of the request, like every other check at the start. */
    @Test
    void aSchedulerTheSvdPipelineCannotRunIsAnInvalidRequest() {
        try (ReferenceCase ref = ReferenceCase.bundled("svd-tiny"); Backend backend = Backends.create("jvm");
             StableVideoDiffusionPipeline pipeline = StableVideoDiffusionPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            SvdGenerationRequest req = SvdGenerationRequest.builder(RgbImage.black(48, 32)).height(32).width(48).numFrames(2)
                    .steps(2).seed(1L).scheduler(SchedulerSpec.parse("DDIMScheduler:thresholding=true")).build();
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> pipeline.generate(req));
            assertTrue(e.getMessage().contains("no step graph"), e.getMessage());
        }
    }

    @Test
    void requestRecordsRefuseWithInvalidRequestException() {
        assertThrows(InvalidRequestException.class, () -> GenerationRequest.builder("p", RgbImage.black(8, 8)).steps(0).build());
        assertThrows(InvalidRequestException.class, () -> SvdGenerationRequest.builder(RgbImage.black(8, 8)).fps(0).build());
    }

    private static Throwable rootCause(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t;
    }

    private static void copyTree(Path from, Path to) throws Exception {
        List<Path> all;
        try (var s = Files.walk(from)) { all = s.toList(); }
        for (Path p : all) {
            Path t = to.resolve(from.relativize(p).toString());
            if (Files.isDirectory(p)) Files.createDirectories(t);
            else Files.copy(p, t);
        }
    }
}
