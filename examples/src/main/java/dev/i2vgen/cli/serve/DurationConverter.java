package dev.i2vgen.cli.serve;

import picocli.CommandLine;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A duration as people write it: {@code 90s}, {@code 30m}, {@code 2h}, {@code 7d}, or ISO-8601 ({@code PT1H30M}). */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    private static final Pattern SHORT = Pattern.compile("(\\d+)\\s*(s|m|h|d)");

    @Override
    public Duration convert(String value) {
        String s = value.strip().toLowerCase(Locale.ROOT);
        Matcher m = SHORT.matcher(s);
        try {
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                return switch (m.group(2)) {
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofDays(n);
                };
            }
            return Duration.parse(value.strip());
        } catch (ArithmeticException | NumberFormatException | DateTimeParseException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a duration (e.g. 90s, 30m, 2h, 7d or PT1H30M)");
        }
    }
}
