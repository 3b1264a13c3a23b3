package org.align4j.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;

/**
 * Writes {@link LlamaParams} as a GGUF that llama.cpp loads, in the architecture it came from: every
 * key-value pair of the source file, in its order (architecture and hyper-parameters, tokenizer, chat
 * template, alignment), with only {@code general.file_type} changed to say what is written; every
 * tensor (biases, q/k norms, the frozen rope_freqs included; no output.weight when it was tied) under
 * the same names, in the same order. Matrices are stored as F32 or F16; vectors (norm weights, biases,
 * rope_freqs, which ggml's RoPE reads as F32) stay F32, as llama.cpp's converters keep them. The file
 * appears atomically ({@link GgufWriter}).
 */
public final class LlamaExport {
    static final String FILE_TYPE_KEY = "general.file_type";

    private LlamaExport() {}

    /** The type a model trained from {@code source} is written in by default: F32 when every matrix of it is F32, else F16. */
    public static GgmlType defaultType(Path source) {
        try (GgufFile f = GgufFile.open(source)) {
            boolean allF32 = f.tensors().stream().filter(t -> t.dims().length > 1).map(GgufTensorInfo::type)
                    .allMatch(t -> t == GgmlType.F32);
            return allF32 ? GgmlType.F32 : GgmlType.F16;
        }
    }

    /** Writes {@code params} to {@code out} with matrices in {@code type} (F32 or F16); returns the file size in bytes. */
    public static long write(LlamaParams params, Path out, GgmlType type) {
        return write(params, out, type, new LinkedHashMap<>());
    }

    /**
     * As {@link #write(LlamaParams, Path, GgmlType)}, with the key-value pairs {@code extra} after the
     * source's (one of the same key replacing its value in place), such as a reward model's head.
     */
    public static long write(LlamaParams params, Path out, GgmlType type, SequencedMap<String, GgufValue> extra) {
        if (type != GgmlType.F32 && type != GgmlType.F16) {
            throw new IllegalArgumentException("exports are F32 or F16, not " + type);
        }
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(params.metadata());
        metadata.putAll(extra);
        if (metadata.containsKey(FILE_TYPE_KEY)) {
            // llama_ftype: LLAMA_FTYPE_ALL_F32 = 0, LLAMA_FTYPE_MOSTLY_F16 = 1
            metadata.put(FILE_TYPE_KEY, GgufValue.uint32(type == GgmlType.F32 ? 0 : 1));
        }
        List<GgufWriter.Tensor> tensors = params.fileTensors().stream().map(t -> {
            GgmlType stored = t.dims().length == 1 ? GgmlType.F32 : type;
            return new GgufWriter.Tensor(t.name(), stored, t.dims(), dst -> GgmlQuants.quantize(stored, t.data(), dst));
        }).toList();
        return GgufWriter.write(out, metadata, tensors);
    }
}
