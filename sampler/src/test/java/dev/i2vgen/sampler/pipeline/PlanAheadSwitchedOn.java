package dev.i2vgen.sampler.pipeline;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Plans built ahead are on by default, unless the property switches them off ({@link PlansAhead#enabledByProperty}):
 * this extension switches {@code -Di2vgen.pipeline.planAhead} on for each test of a class, whatever the JVM was given,
 * and restores the property after it.
 */
final class PlanAheadSwitchedOn implements BeforeEachCallback, AfterEachCallback {
    private static final String PROPERTY = "i2vgen.pipeline.planAhead";
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PlanAheadSwitchedOn.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NAMESPACE).put(PROPERTY, java.util.Optional.ofNullable(System.getProperty(PROPERTY)));
        System.setProperty(PROPERTY, "true");
    }

    @Override
    public void afterEach(ExtensionContext context) {
        java.util.Optional<?> before = context.getStore(NAMESPACE).get(PROPERTY, java.util.Optional.class);
        if (before.isPresent()) System.setProperty(PROPERTY, (String) before.get());
        else System.clearProperty(PROPERTY);
    }
}
