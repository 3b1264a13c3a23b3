package org.align4j.gguf;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Named synthetic-model shapes: {@code tiny} for tests, and shape-faithful stand-ins for public
 * models for throughput work. {@code vocab} names a {@link VocabFiles} tokenizer.
 */
public record SynthPreset(String name, LlamaShape shape, String vocab) {

    public static final List<SynthPreset> ALL = List.of(
            new SynthPreset("tiny", new LlamaShape(2, 64, 4, 2, 128, 512, 10_000f, 1e-5f, false), "llama-spm"),
            new SynthPreset("qwen2.5-0.5b", new LlamaShape(24, 896, 14, 2, 4864, 32_768, 1_000_000f, 1e-6f, true), "qwen2"),
            new SynthPreset("llama-3.2-1b", new LlamaShape(16, 2048, 32, 8, 8192, 131_072, 500_000f, 1e-5f, true), "llama-bpe"));

    /** The preset called {@code name}; IllegalArgumentException listing the known ones otherwise. */
    public static SynthPreset named(String name) {
        return ALL.stream().filter(p -> p.name.equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown preset '" + name + "' (known: " + names() + ")"));
    }

    public static String names() {
        return ALL.stream().map(SynthPreset::name).collect(Collectors.joining(", "));
    }
}
