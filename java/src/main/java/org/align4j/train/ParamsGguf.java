package org.align4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;

/**
 * {@link LlamaParams} written as GGUF: a model llama.cpp loads, or the same with extra tensors and keys
 * (a training checkpoint). Stands in for the trainer core's export and checkpoint files until they land;
 * the DPO job calls it in one place each.
 */
final class ParamsGguf {
    /** Keys this project adds to a checkpoint; an exported model leaves them out. */
    static final String CHECKPOINT_PREFIX = "align4j.checkpoint.";

    private ParamsGguf() {}

    /**
     * A llama GGUF of {@code params}: the source file's metadata (hyper-parameters, tokenizer, chat
     * template) in its order, {@code general.file_type} set for {@code type}; matrices stored as
     * {@code type} (F32 or F16), vectors (norm weights) as F32 as llama.cpp's converters keep them.
     */
    static long exportModel(LlamaParams params, Path out, GgmlType type) {
        if (type != GgmlType.F32 && type != GgmlType.F16) {
            throw new IllegalArgumentException("models are exported as F32 or F16, not " + type);
        }
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
        params.metadata().forEach((k, v) -> {
            if (!k.startsWith(CHECKPOINT_PREFIX)) {
                metadata.put(k, v);
            }
        });
        metadata.put("general.file_type", GgufValue.uint32(type == GgmlType.F32 ? 0 : 1)); // llama_ftype: ALL_F32, MOSTLY_F16
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        for (LlamaParams.Tensor t : params.tensors()) {
            tensors.add(tensor(t.name(), t.dims().length == 1 ? GgmlType.F32 : type, t.dims(), t.data()));
        }
        return GgufWriter.write(out, metadata, tensors);
    }

    /**
     * The parameters in F32 followed by {@code extra} F32 vectors, with the source metadata and
     * {@code extraKeys} (which must start with {@link #CHECKPOINT_PREFIX}); written atomically.
     */
    static long writeCheckpoint(LlamaParams params, Map<String, float[]> extra, SequencedMap<String, GgufValue> extraKeys, Path out) {
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
        params.metadata().forEach((k, v) -> {
            if (!k.startsWith(CHECKPOINT_PREFIX)) {
                metadata.put(k, v);
            }
        });
        metadata.put("general.file_type", GgufValue.uint32(0));
        extraKeys.forEach((k, v) -> {
            if (!k.startsWith(CHECKPOINT_PREFIX)) {
                throw new IllegalArgumentException("checkpoint key " + k + " must start with " + CHECKPOINT_PREFIX);
            }
            metadata.put(k, v);
        });
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        for (LlamaParams.Tensor t : params.tensors()) {
            tensors.add(tensor(t.name(), GgmlType.F32, t.dims(), t.data()));
        }
        extra.forEach((name, data) -> tensors.add(tensor(name, GgmlType.F32, new long[] {data.length}, data)));
        return GgufWriter.write(out, metadata, tensors);
    }

    private static GgufWriter.Tensor tensor(String name, GgmlType type, long[] dims, float[] data) {
        return new GgufWriter.Tensor(name, type, dims, dst -> GgmlQuants.quantize(type, data, dst));
    }
}
