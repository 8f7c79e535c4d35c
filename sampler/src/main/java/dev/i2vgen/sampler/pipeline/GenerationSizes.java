package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.tensor.HostMemory;
import dev.i2vgen.tensor.MemoryExhaustedException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Upper bounds on height, width and frame count, checked before any work: the host arrays a run makes (the image
 * resized, latents, the decoded video and its 8-bit frames) must each fit a Java array, which the host code indexes
 * with ints, and those the result keeps must fit the Java heap together. Without this a large request fails with
 * an index error or an {@link OutOfMemoryError} only after the denoising loop.
 *
 * <p>The parameters are bounded in order, height, then width at that height, then frames at that size, so the
 * refusal names the first one that cannot fit and its largest value that does.
 */
final class GenerationSizes {
    private static final String[] NAMES = {"height", "width", "num_frames"};
    private static final int[] STEPS = {8, 8, 1};
    private static final int[] MINIMA = {8, 8, 1};

    private GenerationSizes() {}

    /**
     * A host array: {@code copies} arrays of {@code shape} (one per frame, say), {@code elementBytes} each element;
     * {@code kept} = held by the returned video, so it needs the heap until the caller lets go.
     */
    record HostArray(String name, String dtype, long[] shape, int elementBytes, long copies, boolean kept) {
        long elements() {
            long n = 1;
            for (long d : shape) n = saturatingMultiply(n, d);
            return n;
        }

        long bytes() { return saturatingMultiply(saturatingMultiply(elements(), elementBytes), copies); }

        /** The element count in words: exact, or approximate where it exceeds a long. */
        String elementCount() {
            if (elements() < Long.MAX_VALUE) return Long.toString(elements());
            double n = 1;
            for (long d : shape) n *= d;
            return String.format(java.util.Locale.ROOT, "about %.3g", n);
        }

        String describe() {
            return name + " " + dtype + Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", ", "[", "]"))
                    + (copies > 1 ? " (" + copies + " of them)" : "");
        }
    }

    /** The host arrays of one run at a height, width and frame count. */
    @FunctionalInterface
    interface Layout {
        List<HostArray> arrays(int height, int width, int frames);
    }

    /**
     * What every pipeline returns: a decoded video ({@code what}: "video") as floats [F, 3, H, W] (one array) and one
     * 8-bit frame per frame, both kept by the result.
     */
    static List<HostArray> decoded(String what, int height, int width, int frames) {
        return List.of(new HostArray("the decoded " + what, "F32", new long[]{frames, 3, height, width}, 4, 1, true),
                new HostArray("its 8-bit frames", "U8", new long[]{height, width, 3}, 1, frames, true));
    }

    /** Refuses sizes whose arrays cannot be held, against this JVM's maximum heap. */
    public static void check(Layout layout, int height, int width, int frames) {
        check(layout, height, width, frames, Runtime.getRuntime().maxMemory());
    }

    /** As {@link #check(Layout, int, int, int)} with {@code heapBytes} as the maximum heap. */
    static void check(Layout layout, int height, int width, int frames, long heapBytes) {
        int[] requested = {height, width, frames};
        for (int p = 0; p < requested.length; p++) {
            int[] at = requested.clone();
            for (int later = p + 1; later < at.length; later++) at[later] = MINIMA[later];
            if (problems(layout, at, heapBytes).isEmpty()) continue;
            Map<String, Long> heldAt = new LinkedHashMap<>();
            for (int earlier = 0; earlier < p; earlier++) heldAt.put(NAMES[earlier], (long) requested[earlier]);
            long max = largestFitting(layout, at, p, heapBytes);
            throw new RequestLimitException(NAMES[p], requested[p], max, heldAt, bindingProblem(layout, at, p, max, heapBytes));
        }
    }

    /** The largest multiple of the parameter's step that fits, the others as in {@code at} (binary search: sizes grow with it). */
    private static long largestFitting(Layout layout, int[] at, int p, long heapBytes) {
        long lo = MINIMA[p] / STEPS[p], hi = at[p] / STEPS[p];   // lo fits (checked by the earlier parameters), hi does not
        while (hi - lo > 1) {
            long mid = (lo + hi) >>> 1;
            if (problems(layout, with(at, p, mid * STEPS[p]), heapBytes).isEmpty()) lo = mid;
            else hi = mid;
        }
        return lo * STEPS[p];
    }

    /**
     * The limit that sets the bound (the first one broken one step beyond {@code max}), described at the requested
     * sizes: other arrays may be too large there too, but this one decides how far the parameter can go.
     */
    private static String bindingProblem(Layout layout, int[] at, int p, long max, long heapBytes) {
        List<Problem> requested = problems(layout, at, heapBytes);
        String binding = problems(layout, with(at, p, max + STEPS[p]), heapBytes).getFirst().limit();
        return requested.stream().filter(q -> q.limit().equals(binding)).findFirst().orElse(requested.getFirst()).text();
    }

    private static int[] with(int[] at, int p, long value) {
        int[] probe = at.clone();
        probe[p] = (int) value;
        return probe;
    }

    /** One limit broken: which ({@code limit}: an array's name, or "heap") and in words. */
    private record Problem(String limit, String text) {}

    /** Every limit these sizes break, arrays first in the layout's order; empty when all can be held. */
    private static List<Problem> problems(Layout layout, int[] at, long heapBytes) {
        List<HostArray> arrays = layout.arrays(at[0], at[1], at[2]);
        List<Problem> problems = new ArrayList<>();
        for (HostArray a : arrays) {
            if (a.elements() > HostMemory.MAX_ARRAY_LENGTH) {
                problems.add(new Problem(a.name(), a.describe() + " would have " + a.elementCount()
                        + " elements, more than a Java array holds (" + HostMemory.MAX_ARRAY_LENGTH + ")"));
            }
        }
        List<HostArray> kept = arrays.stream().filter(HostArray::kept).toList();
        long keptBytes = kept.stream().mapToLong(HostArray::bytes).reduce(0, GenerationSizes::saturatingAdd);
        if (keptBytes > heapBytes) {
            problems.add(new Problem("heap", kept.stream().map(HostArray::name).collect(Collectors.joining(" and "))
                    + " would need " + MemoryExhaustedException.bytes(keptBytes) + " of Java heap, more than its maximum ("
                    + MemoryExhaustedException.bytes(heapBytes) + ")"));
        }
        return problems;
    }

    private static long saturatingMultiply(long a, long b) {
        long high = Math.multiplyHigh(a, b), low = a * b;
        return (high == 0 && low >= 0) ? low : Long.MAX_VALUE;
    }

    private static long saturatingAdd(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }
}
