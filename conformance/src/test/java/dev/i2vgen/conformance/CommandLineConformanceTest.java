package dev.i2vgen.conformance;

import dev.i2vgen.cli.I2VGenCommand;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code i2vgen generate} on each reference case from its seed, writing PNG frames: frames within ±1 of diffusers. */
class CommandLineConformanceTest {
    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void generateReproducesTheReferenceFrames(String caseName, @TempDir Path tmp) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName)) {
            Path out = tmp.resolve("frames");
            List<String> args = new ArrayList<>(List.of("generate", "--model", ref.checkpoint().toString(),
                    "--image", ref.inputImage().toString(), "--prompt", ref.prompt(),
                    "--height", "" + ref.height(), "--width", "" + ref.width(), "--frames", "" + ref.numFrames(),
                    "--steps", "" + ref.steps(), "--guidance", "" + ref.guidance(), "--fps", "" + ref.fps(),
                    "--seed", "" + ref.seed(), "--decode-chunk", ref.decodeChunkSize() == null ? "all" : "" + ref.decodeChunkSize(),
                    "--output", out.toString()));
            if (ref.negativePrompt() != null) args.addAll(List.of("--negative-prompt", ref.negativePrompt()));
            StringWriter so = new StringWriter(), se = new StringWriter();
            var cl = I2VGenCommand.commandLine();
            cl.setOut(new PrintWriter(so, true));
            cl.setErr(new PrintWriter(se, true));
            int code = cl.execute(args.toArray(String[]::new));
            assertEquals(0, code, se.toString());

            Tensor expected = ref.tensor("frames_uint8"); // [1, F, H, W, 3]
            int f = expected.dim(1);
            try (var files = Files.list(out)) {
                assertEquals(f, files.count());
            }
            int maxDiff = 0;
            for (int k = 0; k < f; k++) {
                RgbImage frame = ImageLoader.read(out.resolve(String.format("frame_%04d.png", k)));
                assertEquals(expected.dim(3), frame.width());
                assertEquals(expected.dim(2), frame.height());
                for (int y = 0; y < frame.height(); y++) {
                    for (int x = 0; x < frame.width(); x++) {
                        for (int c = 0; c < 3; c++) {
                            int e = Math.round(expected.get(0, k, y, x, c));
                            maxDiff = Math.max(maxDiff, Math.abs(frame.get(x, y, c) - e));
                        }
                    }
                }
            }
            assertTrue(maxDiff <= 1, caseName + ": frames differ from frames_uint8 by up to " + maxDiff);
        }
    }
}
