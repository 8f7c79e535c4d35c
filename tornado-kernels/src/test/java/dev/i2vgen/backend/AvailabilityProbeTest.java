package dev.i2vgen.backend;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AvailabilityProbeTest {
    @Test
    void probesOnceAndRemembersTheAnswer() {
        AtomicInteger calls = new AtomicInteger();
        AvailabilityProbe probe = new AvailabilityProbe(() -> "missing lib #" + calls.incrementAndGet());
        assertEquals("missing lib #1", probe.reason());
        assertEquals("missing lib #1", probe.reason());
        assertEquals(1, calls.get());
    }

    @Test
    void aProbeThatThrowsIsTriedAgain() {
        AtomicInteger calls = new AtomicInteger();
        AvailabilityProbe probe = new AvailabilityProbe(() -> {
            if (calls.incrementAndGet() == 1) throw new IllegalStateException("driver busy");
            return "";
        });
        assertThrows(IllegalStateException.class, probe::reason);
        assertEquals("", probe.reason());
        assertEquals("", probe.reason());
        assertEquals(2, calls.get());
    }
}
