package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A child process for {@link InterruptedVideoWriteTest}: writes {@code args[0]} with a frame source that becomes slow
 * once the writer's temporary exists, and prints {@value #WRITING} then, so the parent knows when to signal it.
 */
public final class SlowVideoWriteMain {
    static final String WRITING = "writing";

    private SlowVideoWriteMain() {}

    public static void main(String[] args) throws IOException {
        Path output = Path.of(args[0]).toAbsolutePath();
        List<RgbImage> frames = VideoTestFrames.smooth(4, 32, 32, 7);
        List<RgbImage> slow = new AbstractList<>() {
            boolean announced;

            @Override public RgbImage get(int i) {
                if (announced || temporaryExists(output)) {
                    if (!announced) {
                        System.out.println(WRITING);
                        System.out.flush();
                        announced = true;
                    }
                    sleep();
                }
                return frames.get(i % frames.size());
            }

            @Override public int size() { return 600; } // a minute at 100 ms a frame: far longer than the test waits
        };
        VideoWriters.forOutput(output).write(slow, 8);
    }

    private static boolean temporaryExists(Path output) {
        try (Stream<Path> s = Files.list(output.getParent())) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith("." + output.getFileName() + "."));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
