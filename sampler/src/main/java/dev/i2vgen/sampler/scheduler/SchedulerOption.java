package dev.i2vgen.sampler.scheduler;

import java.util.Objects;

/**
 * One config key of a scheduler class, as listed by {@link Schedulers#options}.
 *
 * @param key          diffusers' config key, e.g. {@code use_karras_sigmas}
 * @param defaultValue diffusers' constructor default as JSON text ({@code false}, {@code "linspace"}, {@code null})
 * @param description  one line of help
 */
public record SchedulerOption(String key, String defaultValue, String description) {
    public SchedulerOption {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(defaultValue, "defaultValue");
        Objects.requireNonNull(description, "description");
    }
}
