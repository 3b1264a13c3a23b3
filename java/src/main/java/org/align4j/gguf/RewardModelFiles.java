package org.align4j.gguf;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

/** Reward model files: a causal LM's GGUF, every key and tensor as it is, with a {@link RewardHead} added. */
public final class RewardModelFiles {
    private RewardModelFiles() {}

    /**
     * Writes {@code lm} with {@code head} to {@code out} and returns its size in bytes; a head already in
     * {@code lm} is replaced. Failures are Align4jException naming the file.
     */
    public static long write(Path lm, RewardHead head, Path out) {
        try (GgufFile f = GgufFile.open(lm)) {
            SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(f.metadata());
            metadata.putAll(head.metadata());
            List<GgufWriter.Tensor> tensors = f.tensors().stream()
                    .map(t -> new GgufWriter.Tensor(t.name(), t.type(), t.dims(), dst -> dst.copyFrom(f.tensorData(t.name()))))
                    .toList();
            return GgufWriter.write(out, metadata, tensors);
        }
    }
}
