package dev.i2vgen.io.checkpoint;

import java.util.Locale;

/** What a pipeline component folder holds, which decides its config file name and whether it has weights. */
public enum ComponentKind {
    /** A network with {@code config.json} and safetensors weights (UNet, VAE, CLIP encoders). */
    MODEL("config.json", true),
    SCHEDULER("scheduler_config.json", false),
    TOKENIZER("tokenizer_config.json", false),
    /** An image processor ({@code CLIPImageProcessor}); diffusers calls the folder feature_extractor. */
    FEATURE_EXTRACTOR("preprocessor_config.json", false);

    private final String configFileName;
    private final boolean hasWeights;

    ComponentKind(String configFileName, boolean hasWeights) {
        this.configFileName = configFileName;
        this.hasWeights = hasWeights;
    }

    public String configFileName() { return configFileName; }

    public boolean hasWeights() { return hasWeights; }

    /**
     * The kind of a component from its class name in {@code model_index.json} (e.g. DDIMScheduler,
     * CLIPTokenizer, CLIPImageProcessor), falling back to the conventional folder names.
     */
    static ComponentKind of(String componentName, String className) {
        String c = className == null ? "" : className.toLowerCase(Locale.ROOT);
        if (c.endsWith("scheduler")) return SCHEDULER;
        if (c.contains("tokenizer")) return TOKENIZER;
        if (c.endsWith("imageprocessor") || c.endsWith("featureextractor") || c.endsWith("processor")) return FEATURE_EXTRACTOR;
        if (!c.isEmpty()) return MODEL;
        return switch (componentName) {
            case "scheduler" -> SCHEDULER;
            case "tokenizer", "tokenizer_2" -> TOKENIZER;
            case "feature_extractor", "image_processor" -> FEATURE_EXTRACTOR;
            default -> MODEL;
        };
    }
}
