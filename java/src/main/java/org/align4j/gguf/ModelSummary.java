package org.align4j.gguf;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.align4j.Align4jException;

/**
 * What {@code align4j info} reports about a GGUF, read from its header alone. Hyper-parameters are
 * read under the file's own architecture prefix ({@code <arch>.context_length}); any the file does
 * not have are empty.
 */
public record ModelSummary(
        Path path,
        long fileBytes,
        int ggufVersion,
        Optional<String> architecture,
        Optional<String> name,
        long parameters,
        int tensorCount,
        Map<GgmlType, Integer> tensorsByType,
        OptionalLong vocabSize,
        Optional<String> tokenizerModel,
        Optional<String> contextLength,
        Optional<String> embeddingLength,
        Optional<String> blockCount,
        Optional<String> headCount,
        Optional<String> headCountKv,
        boolean hasChatTemplate,
        OptionalLong fileType,
        Optional<String> rewardHead) {

    // tokenizer.ggml.model -> llama.cpp's llama_vocab_type (llama-vocab.cpp).
    private static final Map<String, String> TOKENIZER_KINDS = Map.of(
            "llama", "SPM", "gpt2", "BPE", "bert", "WPM", "t5", "UGM", "rwkv", "RWKV", "plamo2", "PLaMo2",
            "none", "none", "no_vocab", "none");

    // llama_ftype (llama.h); ids missing here were removed from llama.cpp.
    private static final Map<Long, String> FILE_TYPES = Map.ofEntries(
            Map.entry(0L, "ALL_F32"), Map.entry(1L, "MOSTLY_F16"), Map.entry(2L, "MOSTLY_Q4_0"),
            Map.entry(3L, "MOSTLY_Q4_1"), Map.entry(7L, "MOSTLY_Q8_0"), Map.entry(8L, "MOSTLY_Q5_0"),
            Map.entry(9L, "MOSTLY_Q5_1"), Map.entry(10L, "MOSTLY_Q2_K"), Map.entry(11L, "MOSTLY_Q3_K_S"),
            Map.entry(12L, "MOSTLY_Q3_K_M"), Map.entry(13L, "MOSTLY_Q3_K_L"), Map.entry(14L, "MOSTLY_Q4_K_S"),
            Map.entry(15L, "MOSTLY_Q4_K_M"), Map.entry(16L, "MOSTLY_Q5_K_S"), Map.entry(17L, "MOSTLY_Q5_K_M"),
            Map.entry(18L, "MOSTLY_Q6_K"), Map.entry(19L, "MOSTLY_IQ2_XXS"), Map.entry(20L, "MOSTLY_IQ2_XS"),
            Map.entry(21L, "MOSTLY_Q2_K_S"), Map.entry(22L, "MOSTLY_IQ3_XS"), Map.entry(23L, "MOSTLY_IQ3_XXS"),
            Map.entry(24L, "MOSTLY_IQ1_S"), Map.entry(25L, "MOSTLY_IQ4_NL"), Map.entry(26L, "MOSTLY_IQ3_S"),
            Map.entry(27L, "MOSTLY_IQ3_M"), Map.entry(28L, "MOSTLY_IQ2_S"), Map.entry(29L, "MOSTLY_IQ2_M"),
            Map.entry(30L, "MOSTLY_IQ4_XS"), Map.entry(31L, "MOSTLY_IQ1_M"), Map.entry(32L, "MOSTLY_BF16"),
            Map.entry(36L, "MOSTLY_TQ1_0"), Map.entry(37L, "MOSTLY_TQ2_0"), Map.entry(38L, "MOSTLY_MXFP4_MOE"),
            Map.entry(39L, "MOSTLY_NVFP4"));

    public static ModelSummary of(GgufFile f) {
        Optional<String> arch = optionalString(f, "general.architecture");
        String prefix = arch.map(a -> a + ".").orElse("");
        Map<GgmlType, Integer> byType = new EnumMap<>(GgmlType.class);
        long parameters = 0;
        for (GgufTensorInfo t : f.tensors()) {
            byType.merge(t.type(), 1, Integer::sum);
            parameters += t.elementCount();
        }
        return new ModelSummary(
                f.path(),
                f.fileSize(),
                f.version(),
                arch,
                optionalString(f, "general.name"),
                parameters,
                f.tensors().size(),
                byType,
                f.has(SyntheticLlama.TOKENS_KEY) ? OptionalLong.of(f.arrayLength(SyntheticLlama.TOKENS_KEY)) : OptionalLong.empty(),
                optionalString(f, "tokenizer.ggml.model"),
                hyperParameter(f, prefix + "context_length"),
                hyperParameter(f, prefix + "embedding_length"),
                hyperParameter(f, prefix + "block_count"),
                hyperParameter(f, prefix + "attention.head_count"),
                hyperParameter(f, prefix + "attention.head_count_kv"),
                f.has("tokenizer.chat_template"),
                optionalInteger(f, "general.file_type"),
                rewardHead(f));
    }

    // A reward model's head in words: "64 weights, bias -0.25"; what is wrong with it when it is malformed.
    private static Optional<String> rewardHead(GgufFile f) {
        if (!RewardHead.present(f)) {
            return Optional.empty();
        }
        try {
            RewardHead head = RewardHead.read(f, RewardModelFile.hiddenSize(f));
            return Optional.of(head.hiddenSize() + " weights, bias " + head.bias() + " (" + RewardHead.WEIGHTS + ")");
        } catch (Align4jException e) {
            return Optional.of("malformed: " + e.getMessage());
        }
    }

    /** "llama (SPM)", "gpt2 (BPE)"; the raw name for a model llama.cpp does not know. */
    public Optional<String> tokenizerType() {
        return tokenizerModel.map(m -> TOKENIZER_KINDS.containsKey(m) ? m + " (" + TOKENIZER_KINDS.get(m) + ")" : m);
    }

    /** "MOSTLY_Q8_0 (7)"; the number alone for an id llama.cpp does not define. */
    public Optional<String> fileTypeName() {
        if (fileType.isEmpty()) {
            return Optional.empty();
        }
        long id = fileType.getAsLong();
        return Optional.of(FILE_TYPES.containsKey(id) ? FILE_TYPES.get(id) + " (" + id + ")" : Long.toString(id));
    }

    private static Optional<String> optionalString(GgufFile f, String key) {
        return f.has(key) ? Optional.of(f.string(key)) : Optional.empty();
    }

    // An integer as its number; anything else (a per-layer array) by its type, e.g. "per layer: ARRAY of INT32[35]".
    private static Optional<String> hyperParameter(GgufFile f, String key) {
        return f.value(key).map(v -> v.type().isInteger() ? Long.toString(v.asLong()) : "per layer: " + v);
    }

    private static OptionalLong optionalInteger(GgufFile f, String key) {
        return f.has(key) ? OptionalLong.of(f.integer(key)) : OptionalLong.empty();
    }
}
