package org.align4j.gguf;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import org.align4j.Align4jException;

/**
 * Writes a reward model file ({@link RewardHead}): a causal LM's GGUF again, every key-value pair and
 * every tensor as they are (tensor bytes copied, not decoded), with the head's keys added (replacing a
 * head the file had). The file appears atomically ({@link GgufWriter}).
 */
public final class RewardModelFile {
    private RewardModelFile() {}

    /** Writes the model file {@code lm} with {@code head} to {@code out}; returns the file size in bytes. */
    public static long write(Path lm, RewardHead head, Path out) {
        try (GgufFile f = GgufFile.open(lm)) {
            return write(f, head, out);
        }
    }

    /**
     * Writes {@code model} with {@code head} to {@code out}; returns the file size in bytes. The head's width
     * is not checked against the model's ({@link #hiddenSize}): readers check it ({@link RewardHead#read}).
     */
    public static long write(GgufFile model, RewardHead head, Path out) {
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(model.metadata());
        metadata.remove(RewardHead.WEIGHTS);
        metadata.remove(RewardHead.BIAS);
        metadata.putAll(head.metadata());
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        for (GgufTensorInfo t : model.tensors()) {
            MemorySegment src = model.tensorData(t.name());
            tensors.add(new GgufWriter.Tensor(t.name(), t.type(), t.dims(), dst -> MemorySegment.copy(src, 0, dst, 0, src.byteSize())));
        }
        return GgufWriter.write(out, metadata, tensors);
    }

    /**
     * The model's hidden size, {@code <general.architecture>.embedding_length}.
     *
     * @throws Align4jException naming the file when it has none
     */
    public static int hiddenSize(GgufFile model) {
        String key = (model.has("general.architecture") ? model.string("general.architecture") : "?") + ".embedding_length";
        if (!model.has(key)) {
            throw new Align4jException(model.path() + ": no " + key + ": not a model a reward head can be attached to");
        }
        return Math.toIntExact(model.integer(key));
    }
}
