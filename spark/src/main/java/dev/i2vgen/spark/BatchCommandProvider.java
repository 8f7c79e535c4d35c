package dev.i2vgen.spark;

import dev.i2vgen.cli.SubcommandProvider;

/** Adds {@code batch} to the {@code i2vgen} command line where this module is on the class path. */
public final class BatchCommandProvider implements SubcommandProvider {
    @Override public String name() { return "batch"; }

    @Override public Object command() { return new BatchCommand(); }
}
