package org.align4j.gguf;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Named synthetic-model shapes: {@code tiny} for tests, shape-faithful stand-ins for public models for
 * throughput work, and {@code demo}, the shape of the demo model, which is trained from scratch on short
 * sums (models/demo/README.md) with the {@link CharTokenizer}; its records are 14 tokens at most, and
 * its context is 256 because llama.cpp pads every context to a multiple of 256 and warns when that is
 * longer than the model's. {@code vocab} names a tokenizer, {@link TokenizerMetadata#named};
 * {@code ropeFreqs}, when not null, is Llama 3's RoPE scaling, written as rope_freqs.
 *
 * <p>The public models' presets carry their architecture and the hyper-parameters of their
 * config.json: Qwen2.5-0.5B (qwen2: 24 layers, C 896, 14 heads on 2 KV heads, F 4864, context 32768,
 * RoPE base 1e6, eps 1e-6, tied embeddings), Qwen3-0.6B (qwen3: 28 layers, C 1024, 16 heads of width
 * 128 on 8 KV heads, so Q = 2048 differs from C, F 3072, context 40960, base 1e6, eps 1e-6, tied) and
 * Llama-3.2-1B (llama: 16 layers, C 2048, 32 heads on 8 KV heads, F 8192, context 131072, base 5e5,
 * eps 1e-5, tied, Llama 3 RoPE scaling with factor 32 over an original context of 8192). Qwen3 uses
 * Qwen2's tokenizer.
 *
 * <p>{@code small-10m} is a trainer-sized model for the DPO benchmark: 9.87M parameters with Llama 2's
 * tokenizer (V = 32000, the smallest SPM or BPE vocabulary among llama.cpp's vocab files) and a tied
 * output, so the vocabulary costs V * C once. C = 128 keeps that at 4.10M (41%); 22 blocks of 262,400
 * (MHA with H = G = 4, D = 32; F = 512, Llama 2's rule 256 * ceil(8C/3 / 256)) hold the other 5.77M (58%).
 */
public record SynthPreset(String name, LlamaShape shape, String vocab, Llama3Rope ropeFreqs) {

    public static final List<SynthPreset> ALL = List.of(
            new SynthPreset("tiny", new LlamaShape(2, 64, 4, 2, 128, 512, 10_000f, 1e-5f, false), "llama-spm", null),
            new SynthPreset("qwen2.5-0.5b", new LlamaShape(24, 896, 14, 2, 4864, 32_768, 1_000_000f, 1e-6f, true)
                    .withArchitecture(Architecture.QWEN2), "qwen2", null),
            new SynthPreset("llama-3.2-1b", new LlamaShape(16, 2048, 32, 8, 8192, 131_072, 500_000f, 1e-5f, true), "llama-bpe",
                    Llama3Rope.LLAMA_3_2),
            new SynthPreset("demo", new LlamaShape(4, 128, 4, 2, 384, 256, 10_000f, 1e-5f, true), CharTokenizer.NAME, null),
            new SynthPreset("small-10m", new LlamaShape(22, 128, 4, 4, 512, 1024, 10_000f, 1e-5f, true), "llama-spm", null),
            new SynthPreset("qwen3-0.6b", new LlamaShape(28, 1024, 16, 8, 3072, 40_960, 1_000_000f, 1e-6f, true)
                    .withArchitecture(Architecture.QWEN3).withHeadDim(128), "qwen2", null));

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
