package dev.i2vgen.conformance;

import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Per-stage relative errors against a reference case: one "name error" line per stage for the printed report, and
 * the stages over the tolerance, failed together at the end so that one run shows every stage's error.
 */
final class StageReport {
    private final double tolerance;
    private final StringBuilder report;
    private final List<String> failures = new ArrayList<>();

    /** @param title the report's first line */
    StageReport(String title, double tolerance) {
        this.tolerance = tolerance;
        this.report = new StringBuilder(title + "\n");
    }

    /** One stage: its relative error on the report, a failure when over the tolerance. */
    void check(String name, Tensor actual, Tensor expected) {
        double err = TensorComparison.relativeError(actual, expected);
        report.append(String.format("  %-32s %.2e%n", name, err));
        if (!(err <= tolerance)) failures.add(String.format("%s: relative error %.3g > %.0e", name, err, tolerance));
    }

    /**
     * Checks every seen tensor that the case recorded too, in the order seen (a size mismatch is a failure, not an
     * exception, so the other stages still report); returns how many were compared.
     */
    int checkRecorded(Map<String, Tensor> seen, ReferenceCase ref) {
        int compared = 0;
        for (Map.Entry<String, Tensor> e : seen.entrySet()) {
            if (!ref.has(e.getKey())) continue;
            Tensor expected = ref.tensor(e.getKey());
            compared++;
            if (e.getValue().numel() != expected.numel()) {
                failures.add(e.getKey() + ": " + e.getValue() + " vs reference " + expected);
                continue;
            }
            check(e.getKey(), e.getValue(), expected);
        }
        return compared;
    }

    /** A separate bound on one tensor, off the report (reduced precision's end-to-end frames, whose stages are unbounded). */
    void bound(String name, Tensor actual, Tensor expected, double bound) {
        double err = TensorComparison.relativeError(actual, expected);
        if (!(err <= bound)) failures.add(String.format("%s: relative error %.3g > %.0e", name, err, bound));
    }

    /** Prints the report, then fails naming the case and every stage over its bound. */
    void assertPassed(String caseName) {
        System.out.print(report);
        if (!failures.isEmpty()) fail(caseName + ": " + String.join("\n", failures));
    }
}
