package org.align4j.gguf;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Named synthetic-model shapes: {@code tiny} for tests, shape-faithful stand-ins for public models for
 * throughput work, and {@code demo}, the shape of the demo model, which is trained from scratch on short
 * sums (models/demo/README.md) with the {@link CharTokenizer}; its records are 14 tokens at most, and
 * its context is 256 because llama.cpp pads every context to a multiple of 256 and warns when that is
 * longer than the model's. {@code vocab} names a tokenizer, {@link TokenizerMetadata#named}.
 *
 * <p>{@code small-10m} is a trainer-sized model for the DPO benchmark: 9.87M parameters with Llama 2's
 * tokenizer (V = 32000, the smallest SPM or BPE vocabulary among llama.cpp's vocab files) and a tied
 * output, so the vocabulary costs V * C once. C = 128 keeps that at 4.10M (41%); 22 blocks of 262,400
 * (MHA with H = G = 4, D = 32; F = 512, Llama 2's rule 256 * ceil(8C/3 / 256)) hold the other 5.77M (58%).
 */
public record SynthPreset(String name, LlamaShape shape, String vocab) {

    public static final List<SynthPreset> ALL = List.of(
            new SynthPreset("tiny", new LlamaShape(2, 64, 4, 2, 128, 512, 10_000f, 1e-5f, false), "llama-spm"),
            new SynthPreset("qwen2.5-0.5b", new LlamaShape(24, 896, 14, 2, 4864, 32_768, 1_000_000f, 1e-6f, true), "qwen2"),
            new SynthPreset("llama-3.2-1b", new LlamaShape(16, 2048, 32, 8, 8192, 131_072, 500_000f, 1e-5f, true), "llama-bpe"),
            new SynthPreset("demo", new LlamaShape(4, 128, 4, 2, 384, 256, 10_000f, 1e-5f, true), CharTokenizer.NAME),
            new SynthPreset("small-10m", new LlamaShape(22, 128, 4, 4, 512, 1024, 10_000f, 1e-5f, true), "llama-spm"));

    /** The preset called {@code name}; IllegalArgumentException listing the known ones otherwise. */
    public static SynthPreset named(String name) {
        return ALL.stream().filter(p -> p.name.equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown preset '" + name + "' (known: " + names() + ")"));
    }

    public TokenizerMetadata tokenizer() {
        return TokenizerMetadata.named(vocab);
    }

    public static String names() {
        return ALL.stream().map(SynthPreset::name).collect(Collectors.joining(", "));
    }
}
