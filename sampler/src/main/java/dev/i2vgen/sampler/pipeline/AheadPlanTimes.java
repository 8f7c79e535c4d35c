package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.SetupWork;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a pipeline's plans built ahead ({@link PlansAhead}) spent their time, summed over its generations, for
 * {@code I2VGEN_TIMINGS=1}: per stage, the build's time on its own thread and the time the stage waited for the plan
 * when it took it; a plan built by its stage after all (not worth building ahead for its memory, or its thread not
 * started yet) is all waited.
 */
final class AheadPlanTimes {
    private record Key(String stage, boolean ahead) {}

    /** Per stage: {plans, busy nanoseconds, waited nanoseconds}. */
    private final Map<Key, long[]> byStage = new LinkedHashMap<>();

    synchronized void record(String stage, boolean ahead, long busyNanos, long waitedNanos) {
        long[] sums = byStage.computeIfAbsent(new Key(stage, ahead), k -> new long[3]);
        sums[0]++;
        sums[1] += busyNanos;
        sums[2] += waitedNanos;
    }

    synchronized List<SetupWork> setupWork() {
        List<SetupWork> work = new ArrayList<>();
        byStage.forEach((key, sums) -> {
            Duration busy = Duration.ofNanos(sums[1]), waited = Duration.ofNanos(sums[2]);
            String plans = sums[0] == 1 ? "plan" : sums[0] + " plans";
            if (key.ahead()) {
                // busy: the build on its thread; waited: the stage, taking the plan
                work.add(new SetupWork(plans + " of '" + key.stage() + "' built ahead", busy, waited));
            } else {
                work.add(SetupWork.onCallerThread(plans + " of '" + key.stage() + "' built by the stage itself, not ahead", busy));
            }
        });
        return work;
    }
}
