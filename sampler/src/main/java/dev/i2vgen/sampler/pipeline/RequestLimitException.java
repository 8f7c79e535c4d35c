package dev.i2vgen.sampler.pipeline;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * A size parameter beyond what the run can hold ({@link GenerationSizes}): the parameter, its value, the largest value
 * that fits with the parameters in {@code heldAt} as given, and what does not fit. {@link #message} renders it with
 * other parameter names (the command line's options).
 */
public final class RequestLimitException extends InvalidRequestException {
    private final String parameter;
    private final long value;
    private final long max;
    private final Map<String, Long> heldAt;
    private final String reason;

    RequestLimitException(String parameter, long value, long max, Map<String, Long> heldAt, String reason) {
        super(render(parameter, value, max, heldAt, reason, UnaryOperator.identity()));
        this.parameter = parameter;
        this.value = value;
        this.max = max;
        this.heldAt = new LinkedHashMap<>(heldAt);
        this.reason = reason;
    }

    /** diffusers' name of the parameter: {@code height}, {@code width} or {@code num_frames}. */
    public String parameter() { return parameter; }

    public long value() { return value; }

    /** The largest value that fits, the parameters of {@link #heldAt} as requested. */
    public long max() { return max; }

    /** The parameters held at their requested values for {@link #max}, in order. */
    public Map<String, Long> heldAt() { return Map.copyOf(heldAt); }

    /** What does not fit at the requested value. */
    public String reason() { return reason; }

    /** The message with each parameter name passed through {@code names} (e.g. to {@code --frames}). */
    public String message(UnaryOperator<String> names) { return render(parameter, value, max, heldAt, reason, names); }

    private static String render(String parameter, long value, long max, Map<String, Long> heldAt, String reason,
                                 UnaryOperator<String> names) {
        String at = heldAt.isEmpty() ? "" : " at " + heldAt.entrySet().stream()
                .map(e -> names.apply(e.getKey()) + " " + e.getValue()).collect(Collectors.joining(" and "));
        return names.apply(parameter) + " must be at most " + max + at + ", got " + value + ": " + reason;
    }
}
