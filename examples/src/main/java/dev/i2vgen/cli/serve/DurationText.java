package dev.i2vgen.cli.serve;

import java.time.Duration;

/** A duration as people read it: {@code 24h}, {@code 30m}, {@code 1h30m}, {@code 45s}. */
final class DurationText {
    private DurationText() {}

    static String of(Duration d) {
        StringBuilder s = new StringBuilder();
        if (d.toHours() > 0) s.append(d.toHours()).append('h');
        if (d.toMinutesPart() > 0) s.append(d.toMinutesPart()).append('m');
        if (d.toSecondsPart() > 0 || s.isEmpty()) s.append(d.toSecondsPart()).append('s');
        return s.toString();
    }
}
