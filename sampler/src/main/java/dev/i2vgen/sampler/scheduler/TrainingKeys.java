package dev.i2vgen.sampler.scheduler;

import java.util.function.Function;

/**
 * The training-noise keys every scheduler config starts with (num_train_timesteps, beta_start, beta_end,
 * beta_schedule, trained_betas), read in that order by one method so each config reports the first wrong key alike.
 *
 * @param <B> the config's beta schedule type
 */
record TrainingKeys<B>(int numTrainTimesteps, double betaStart, double betaEnd, B betaSchedule, double[] trainedBetas) {

    /**
     * Reads the five keys in diffusers' order; absent keys take the given defaults. {@code betaSchedule} parses the
     * beta_schedule name (its errors are the config's own).
     */
    static <B> TrainingKeys<B> read(SchedulerConfigReader r, int numTrainTimesteps, double betaStart, double betaEnd,
                                    String betaScheduleName, Function<String, B> betaSchedule) {
        int n = r.integer("num_train_timesteps", numTrainTimesteps);
        double start = r.number("beta_start", betaStart);
        double end = r.number("beta_end", betaEnd);
        B schedule = betaSchedule.apply(r.string("beta_schedule", betaScheduleName));
        return new TrainingKeys<>(n, start, end, schedule, r.numbers("trained_betas"));
    }

    /** {@link #read} for the common {@link BetaSchedule} choice, with {@link SchedulerConfigReader#choice}'s error. */
    static TrainingKeys<BetaSchedule> read(SchedulerConfigReader r, int numTrainTimesteps, double betaStart,
                                           double betaEnd, BetaSchedule betaSchedule) {
        return read(r, numTrainTimesteps, betaStart, betaEnd, betaSchedule.configName(),
                r.parser("beta_schedule", BetaSchedule.values(), BetaSchedule::configName));
    }
}
