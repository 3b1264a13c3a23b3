package org.align4j.llama;

/**
 * How to load a model.
 *
 * @param gpuLayers layers to offload to the GPU; -1 = all, 0 = none (CPU)
 * @param mmap      memory-map the file instead of reading it
 * @param vocabOnly load only the tokenizer, no weights
 */
public record ModelOptions(int gpuLayers, boolean mmap, boolean vocabOnly) {
    public static final ModelOptions DEFAULT = new ModelOptions(0, true, false);
    public static final ModelOptions VOCAB_ONLY = new ModelOptions(0, true, true);

    /** Weights mapped, {@code gpuLayers} offloaded: what every job that decodes loads its models with. */
    public static ModelOptions inference(int gpuLayers) {
        return new ModelOptions(gpuLayers, true, false);
    }
}
