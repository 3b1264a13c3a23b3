package org.align4j.reward;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.align4j.engine.ScorerOptions;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.llama.NativeTestSupport;

/** Tiny synthetic models and inputs for reward tests. */
final class RewardTestModels {
    private RewardTestModels() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Small enough for two test threads: 256-token sequences, 4 side by side. */
    static final ScorerOptions SCORER = new ScorerOptions(256, 64, 4, 2, true);

    /** The tiny preset's shape with random F32 weights and the tokenizer of {@code ggml-vocab-VOCAB.gguf}. */
    static Path tiny(Path dir, String vocab, long seed) {
        Path out = dir.resolve("tiny-" + vocab + "-" + seed + ".gguf");
        SyntheticLlama.write(out, "tiny", SynthPreset.named("tiny").shape(), NativeTestSupport.vocabFile(vocab), GgmlType.F32, seed);
        return out;
    }

    static RewardContext context(Path policy) {
        return new RewardContext(policy, SCORER, 0, RewardContext.DEFAULT_TIMEOUT);
    }

    static RewardContext context(Duration timeout) {
        return new RewardContext(null, SCORER, 0, timeout);
    }

    static ObjectNode record(String json) {
        try {
            return (ObjectNode) JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new AssertionError(e);
        }
    }

    /** An input of text-only completions (no tokens, policy log-prob unknown), for rewards that read only text. */
    static RewardInput texts(String id, String recordJson, String... completions) {
        ObjectNode record = record(recordJson);
        List<Completion> cs = java.util.Arrays.stream(completions).map(t -> new Completion(t, new int[0], Double.NaN)).toList();
        return new RewardInput(id, record, record.path("prompt").asText(), new int[] {1}, cs);
    }
}
