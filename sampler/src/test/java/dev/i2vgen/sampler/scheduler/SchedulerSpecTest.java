package dev.i2vgen.sampler.scheduler;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Parsing {@code NAME[:key=value,...]} scheduler specs. */
class SchedulerSpecTest {

    private static String error(String text) {
        return assertThrows(IllegalArgumentException.class, () -> SchedulerSpec.parse(text)).getMessage();
    }

    @Test
    void nameAlone() {
        SchedulerSpec spec = SchedulerSpec.parse("DDIMScheduler");
        assertEquals("DDIMScheduler", spec.className());
        assertTrue(spec.overrides().isEmpty());
        assertEquals("DDIMScheduler", spec.toString());
        assertEquals(SchedulerSpec.of("DDIMScheduler"), spec);
    }

    @Test
    void overridesKeepTheirOrderAndStayText() {
        SchedulerSpec spec = SchedulerSpec.parse(
                "DPMSolverMultistepScheduler:use_karras_sigmas=true,algorithm_type=sde-dpmsolver++,solver_order=3,flow_shift=0.5");
        assertEquals("DPMSolverMultistepScheduler", spec.className());
        assertEquals(List.of("use_karras_sigmas", "algorithm_type", "solver_order", "flow_shift"),
                List.copyOf(spec.overrides().keySet()));
        assertEquals(List.of("true", "sde-dpmsolver++", "3", "0.5"), List.copyOf(spec.overrides().values()));
        assertEquals("DPMSolverMultistepScheduler:use_karras_sigmas=true,algorithm_type=sde-dpmsolver++,solver_order=3,"
                + "flow_shift=0.5", spec.toString());
    }

    @Test
    void commasInsideBracketsAndQuotesDoNotSplit() {
        SchedulerSpec spec = SchedulerSpec.parse("UniPCMultistepScheduler:disable_corrector=[0,1],solver_type=bh1");
        assertEquals(Map.of("disable_corrector", "[0,1]", "solver_type", "bh1"), spec.overrides());
        assertEquals("[[0, 1], [2]]", SchedulerSpec.parse("X:a=[[0, 1], [2]]").overrides().get("a"));
        assertEquals("\"a,b]\"", SchedulerSpec.parse("X:a=\"a,b]\",b=2").overrides().get("a"));
        assertEquals("\"say \\\"x,y\\\"\"", SchedulerSpec.parse("X:a=\"say \\\"x,y\\\"\"").overrides().get("a"),
                "an escaped quote does not end the string");
        assertEquals("a:b", SchedulerSpec.parse("X:k=a:b").overrides().get("k"), "only the first ':' ends the name");
    }

    @Test
    void spacesAroundPartsAreDropped() {
        SchedulerSpec spec = SchedulerSpec.parse(" EulerDiscreteScheduler : timestep_spacing = trailing , trained_betas = [0.1, 0.2] ");
        assertEquals("EulerDiscreteScheduler", spec.className());
        assertEquals(Map.of("timestep_spacing", "trailing", "trained_betas", "[0.1, 0.2]"), spec.overrides());
        assertEquals("EulerDiscreteScheduler:timestep_spacing=trailing,trained_betas=[0.1, 0.2]", spec.toString());
    }

    @Test
    void toStringParsesBack() {
        for (String text : List.of("LCMScheduler", "UniPCMultistepScheduler:disable_corrector=[0,1],solver_order=3",
                "DDIMScheduler:timestep_spacing=\"trailing\",steps_offset=null")) {
            SchedulerSpec spec = SchedulerSpec.parse(text);
            assertEquals(text, spec.toString());
            assertEquals(spec, SchedulerSpec.parse(spec.toString()));
        }
    }

    @Test
    void malformedSpecsAreRefusedWithTheirText() {
        assertEquals("scheduler spec '': the scheduler class name is empty (expected NAME or NAME:key=value,...)", error(""));
        assertEquals("scheduler spec ' :a=1': the scheduler class name is empty (expected NAME or NAME:key=value,...)",
                error(" :a=1"));
        assertEquals("scheduler spec 'X:karras': option 'karras' has no '=' (expected key=value)", error("X:karras"));
        assertEquals("scheduler spec 'X:=1': option '=1' has an empty key (expected key=value)", error("X:=1"));
        assertEquals("scheduler spec 'X:a=1,a=2': option 'a' is given twice", error("X:a=1,a=2"));
        assertEquals("scheduler spec 'X:a=': option 'a' has an empty value (use null for the class's default)", error("X:a="));
        assertEquals("scheduler spec 'X:': nothing after ':' (expected key=value,...)", error("X:"));
        assertEquals("scheduler spec 'X:a=1,': an option is empty (expected key=value between commas)", error("X:a=1,"));
        assertEquals("scheduler spec 'X:a=1,,b=2': an option is empty (expected key=value between commas)", error("X:a=1,,b=2"));
        assertEquals("scheduler spec 'X:a=[0,1': a bracket is not closed", error("X:a=[0,1"));
        assertEquals("scheduler spec 'X:a=0]': ']' without a matching opening bracket", error("X:a=0]"));
        assertEquals("scheduler spec 'X:a=\"x,b=1': a double-quoted value is not closed", error("X:a=\"x,b=1"));
        assertThrows(NullPointerException.class, () -> SchedulerSpec.parse(null));
    }

    @Test
    void recordChecksWhatParseCouldNotReadBack() {
        assertThrows(IllegalArgumentException.class, () -> new SchedulerSpec(" ", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new SchedulerSpec("A:B", Map.of()));
        String key = assertThrows(IllegalArgumentException.class, () -> new SchedulerSpec("X", Map.of("a=b", "1"))).getMessage();
        assertEquals("X option key must be non-empty text without '=' or ',', got 'a=b'", key);
        assertThrows(IllegalArgumentException.class, () -> new SchedulerSpec("X", Map.of("a", "")));

        Map<String, String> given = new LinkedHashMap<>(Map.of("a", "1"));
        SchedulerSpec spec = new SchedulerSpec("X", given);
        given.put("b", "2");
        assertEquals(Map.of("a", "1"), spec.overrides(), "the spec keeps its own copy");
        assertThrows(UnsupportedOperationException.class, () -> spec.overrides().put("c", "3"));
    }
}
