package dev.i2vgen.io.checkpoint;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A pipeline class this library runs, as {@code model_index.json} names it in {@code _class_name}: the components
 * it needs and, for each, the classes that may implement it. A checkpoint naming another pipeline, or giving a
 * component a class of another pipeline (an SVD UNet under I2VGenXLPipeline), is refused before any weights are read.
 */
public enum PipelineLayout {
    I2VGEN_XL("I2VGenXLPipeline",
            needs("vae", "AutoencoderKL"),
            needs("text_encoder", "CLIPTextModel"),
            needs("tokenizer", "CLIPTokenizer", "CLIPTokenizerFast"),
            needs("unet", "I2VGenXLUNet"),
            needs("scheduler"),
            needs("image_encoder", "CLIPVisionModelWithProjection"),
            needs("feature_extractor", "CLIPImageProcessor", "CLIPFeatureExtractor")),
    STABLE_VIDEO_DIFFUSION("StableVideoDiffusionPipeline",
            needs("vae", "AutoencoderKLTemporalDecoder"),
            needs("image_encoder", "CLIPVisionModelWithProjection"),
            needs("unet", "UNetSpatioTemporalConditionModel"),
            needs("scheduler"),
            needs("feature_extractor", "CLIPImageProcessor", "CLIPFeatureExtractor"));

    /** A component and the classes that may implement it; none listed for the scheduler, whose reader checks it. */
    private record Component(String name, List<String> classes) {}

    private final String className;
    private final Map<String, Component> components = new LinkedHashMap<>();

    PipelineLayout(String className, Component... components) {
        this.className = className;
        for (Component c : components) this.components.put(c.name(), c);
    }

    private static Component needs(String name, String... classes) { return new Component(name, List.of(classes)); }

    /** The {@code _class_name}, e.g. "I2VGenXLPipeline". */
    public String className() { return className; }

    /** The components the pipeline needs, in diffusers' order. */
    public List<String> components() { return List.copyOf(components.keySet()); }

    /** The layout named {@code className}, or null when this library runs no such pipeline. */
    public static PipelineLayout of(String className) {
        for (PipelineLayout p : values()) if (p.className.equals(className)) return p;
        return null;
    }

    /** The supported class names, for messages. */
    public static String supported() {
        return Arrays.stream(values()).map(PipelineLayout::className).collect(Collectors.joining(", "));
    }

    /** Whether {@code componentClass} may implement {@code component} (a scheduler: any diffusers scheduler class). */
    boolean accepts(String component, String componentClass) {
        Component c = components.get(component);
        if (c == null) return true;
        return c.classes().isEmpty() ? componentClass.endsWith("Scheduler") : c.classes().contains(componentClass);
    }

    /** What {@link #accepts} takes for {@code component}, for messages. */
    String expected(String component) {
        List<String> classes = components.get(component).classes();
        return classes.isEmpty() ? "a diffusers scheduler class" : String.join(" or ", classes);
    }
}
