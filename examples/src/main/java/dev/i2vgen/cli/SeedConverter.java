package dev.i2vgen.cli;

import picocli.CommandLine;

/**
 * {@code --seed} as {@code torch.manual_seed} takes it: an integer in [−2⁶³, 2⁶⁴). torch keeps the 64 bits of the
 * seed (a negative one reinterpreted as unsigned), so the value is those bits in a long: 2⁶⁴ − 1 and −1 are the same
 * seed, as in torch. Print it with {@link Long#toUnsignedString}.
 */
final class SeedConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String s = value.strip();
        try {
            return s.startsWith("-") ? Long.parseLong(s) : Long.parseUnsignedLong(s.startsWith("+") ? s.substring(1) : s);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not an integer from -9223372036854775808"
                    + " to 18446744073709551615 (the range torch.manual_seed takes)");
        }
    }
}
