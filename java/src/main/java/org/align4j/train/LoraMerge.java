package org.align4j.train;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.stream.Collectors;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;
import org.align4j.llama.LlamaFileType;
import org.align4j.llama.ModelQuantizer;

/**
 * Merges a GGUF LoRA adapter into its base as llama.cpp's {@code llama-export-lora} does
 * (tools/export-lora/export-lora.cpp, {@code merge_tensor}): each base matrix W with a {@code .lora_a}
 * and {@code .lora_b} becomes W + s B A, s = scale * alpha / r (scale when alpha is 0), from the
 * decoded base in f32 (the delta summed in f64), stored as F32 if W was F32 and F16 otherwise
 * ({@code get_out_tensor_type}); every other tensor is copied byte for byte, and the base's key-value
 * pairs are kept, {@code general.file_type} becoming MOSTLY_F16 when a matrix was converted (export-lora
 * sets it always). The file appears atomically ({@link GgufWriter}). {@link Type} asks for F32 merged
 * matrices instead, or for the F16 merge quantized by llama.cpp ({@link ModelQuantizer}).
 */
public final class LoraMerge {
    static final String FILE_TYPE_KEY = "general.file_type";
    // Rows merged at a time: bounds the f32 tile of a vocabulary-sized output matrix.
    private static final int TILE_ROWS = 64;

    /** The merged model's type: its merged matrices' (F16, F32), or a file type llama.cpp quantizes the F16 merge to. */
    public enum Type {
        F16("f16", null), F32("f32", null), BF16("bf16", LlamaFileType.MOSTLY_BF16), Q8_0("q8_0", LlamaFileType.MOSTLY_Q8_0),
        Q4_0("q4_0", LlamaFileType.MOSTLY_Q4_0), Q4_K_M("q4_k_m", LlamaFileType.MOSTLY_Q4_K_M),
        Q5_K_M("q5_k_m", LlamaFileType.MOSTLY_Q5_K_M), Q6_K("q6_k", LlamaFileType.MOSTLY_Q6_K);

        private final String cliName;
        private final LlamaFileType quantized;

        Type(String cliName, LlamaFileType quantized) {
            this.cliName = cliName;
            this.quantized = quantized;
        }

        /** "f16", "q4_k_m", ...: llama-quantize's spelling. */
        public String cliName() {
            return cliName;
        }

        /** "q8_0" -> Q8_0; an unknown name is an IllegalArgumentException listing the known ones. */
        public static Type named(String name) {
            for (Type t : values()) {
                if (t.cliName.equalsIgnoreCase(name)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("unknown merge type '" + name + "' (types: "
                    + Arrays.stream(values()).map(Type::cliName).collect(Collectors.joining(", ")) + ")");
        }
    }

    private LoraMerge() {}

    /** Merges {@code adapter} at {@code scale} into {@code base}, writing {@code out} as llama-export-lora does; returns the file size in bytes. */
    public static long write(Path base, Path adapter, float scale, Path out) {
        try (GgufFile b = GgufFile.open(base); GgufFile a = GgufFile.open(adapter)) {
            return write(b, a, scale, out, Type.F16, 1);
        }
    }

    /**
     * Merges {@code adapter} at {@code scale} into {@code base}, writing {@code out} as {@code type}; a
     * quantized type goes through an F16 merge in a temporary file beside {@code out}, which llama.cpp
     * quantizes on {@code threads} threads and which is removed whatever happens. Returns the file size in bytes.
     */
    public static long write(GgufFile base, GgufFile adapter, float scale, Path out, Type type, int threads) {
        if (type.quantized == null) {
            return merge(base, adapter, scale, out, type == Type.F32 ? GgmlType.F32 : GgmlType.F16);
        }
        ModelQuantizer.writeQuantized(out, type.quantized, threads, tmp -> merge(base, adapter, scale, tmp, GgmlType.F16));
        try {
            return Files.size(out);
        } catch (IOException e) {
            throw new Align4jException(out + ": cannot read its size: " + IoMessages.describe(e), e);
        }
    }

    // Merged matrices of a non-F32 base are stored as `stored` (F16 as export-lora, or F32).
    private static long merge(GgufFile base, GgufFile adapter, float scale, Path out, GgmlType stored) {
        checkAdapter(base, adapter);
        float alpha = (float) adapter.number("adapter.lora.alpha");
        for (GgufTensorInfo t : adapter.tensors()) {
            String baseName = t.name().replaceFirst("\\.lora_[ab]$", "");
            if (baseName.equals(t.name()) || base.tensors().stream().noneMatch(bt -> bt.name().equals(baseName))) {
                throw new Align4jException(adapter.path() + ": tensor '" + t.name() + "' adapts no tensor of " + base.path());
            }
        }
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        boolean converted = false;
        for (GgufTensorInfo t : base.tensors()) {
            boolean hasA = has(adapter, t.name() + ".lora_a");
            boolean hasB = has(adapter, t.name() + ".lora_b");
            if (hasA != hasB) {
                throw new Align4jException(adapter.path() + ": tensor " + t.name() + " has only one of lora_a and lora_b");
            }
            if (!hasA) {
                MemorySegment src = base.tensorData(t.name());
                tensors.add(new GgufWriter.Tensor(t.name(), t.type(), t.dims(), dst -> MemorySegment.copy(src, 0, dst, 0, src.byteSize())));
                continue;
            }
            Delta delta = Delta.of(base, adapter, t, alpha, scale);
            GgmlType type = t.type() == GgmlType.F32 ? GgmlType.F32 : stored;
            converted |= type != t.type();
            tensors.add(new GgufWriter.Tensor(t.name(), type, t.dims(), dst -> delta.mergeInto(base.tensorData(t.name()), t.type(), type, dst)));
        }
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(base.metadata());
        if (converted) {
            metadata.put(FILE_TYPE_KEY, GgufValue.uint32(stored == GgmlType.F32 ? 0 : 1)); // LLAMA_FTYPE_ALL_F32, MOSTLY_F16
        }
        return GgufWriter.write(out, metadata, tensors);
    }

    private static void checkAdapter(GgufFile base, GgufFile adapter) {
        String type = adapter.has("general.type") ? adapter.string("general.type") : "";
        String adapterType = adapter.has("adapter.type") ? adapter.string("adapter.type") : "";
        if (!type.equals("adapter") || !adapterType.equals("lora")) {
            throw new Align4jException(adapter.path() + ": not a LoRA adapter (general.type '" + type + "', adapter.type '" + adapterType + "')");
        }
        String arch = adapter.string("general.architecture");
        if (!arch.equals(base.string("general.architecture"))) {
            throw new Align4jException(adapter.path() + ": an adapter for " + arch + ", but " + base.path() + " is "
                    + base.string("general.architecture"));
        }
    }

    private static boolean has(GgufFile f, String name) {
        return f.tensors().stream().anyMatch(t -> t.name().equals(name));
    }

    // B (O, r) and A (r, I) of one base matrix W (O, I), ggml ne [I, O]; s the applied scale.
    private record Delta(int in, int out, int rank, float[] a, float[] b, double s) {

        static Delta of(GgufFile base, GgufFile adapter, GgufTensorInfo w, float alpha, float scale) {
            GgufTensorInfo ta = adapter.tensor(w.name() + ".lora_a");
            GgufTensorInfo tb = adapter.tensor(w.name() + ".lora_b");
            long[] dw = w.dims();
            long[] da = ta.dims();
            long[] db = tb.dims();
            if (dw.length != 2 || da.length != 2 || db.length != 2 || da[0] != dw[0] || db[1] != dw[1] || da[1] != db[0]) {
                throw new Align4jException(adapter.path() + ": " + w.name() + " is ne " + Arrays.toString(dw)
                        + " in " + base.path() + ", but its lora_a is " + Arrays.toString(da) + " and lora_b "
                        + Arrays.toString(db) + " (want [in, r] and [r, out])");
            }
            for (GgufTensorInfo t : List.of(ta, tb)) {
                if (t.type() != GgmlType.F32 && t.type() != GgmlType.F16) {
                    throw new Align4jException(adapter.path() + ": " + t.name() + " is " + t.type() + "; merging takes F32 or F16 adapters");
                }
            }
            int rank = (int) db[0];
            float[] a = new float[Math.toIntExact(ta.elementCount())];
            float[] b = new float[Math.toIntExact(tb.elementCount())];
            GgmlQuants.dequantize(ta.type(), adapter.tensorData(ta.name()), a);
            GgmlQuants.dequantize(tb.type(), adapter.tensorData(tb.name()), b);
            // export-lora: alpha ? scale * alpha / rank : scale, in float
            float s = alpha != 0 ? scale * alpha / rank : scale;
            return new Delta(Math.toIntExact(dw[0]), Math.toIntExact(dw[1]), rank, a, b, s);
        }

        // Writes rows of W + s B A, a tile of TILE_ROWS rows at a time, into dst (stored type).
        void mergeInto(MemorySegment w, GgmlType wType, GgmlType stored, MemorySegment dst) {
            float[] tile = new float[TILE_ROWS * in]; // (rows, I)
            double[] acc = new double[in];
            for (int first = 0; first < out; first += TILE_ROWS) {
                int rows = Math.min(TILE_ROWS, out - first);
                GgmlQuants.dequantizeRows(wType, w, in, first, rows, tile, 0);
                for (int r = 0; r < rows; r++) {
                    Arrays.fill(acc, 0);
                    int o = first + r;
                    for (int k = 0; k < rank; k++) {
                        double bok = b[o * rank + k];
                        int ak = k * in;
                        for (int i = 0; i < in; i++) {
                            acc[i] += bok * a[ak + i];
                        }
                    }
                    int at = r * in;
                    for (int i = 0; i < in; i++) {
                        tile[at + i] = (float) (tile[at + i] + s * acc[i]);
                    }
                }
                float[] merged = rows == TILE_ROWS ? tile : Arrays.copyOf(tile, rows * in);
                long bytes = stored.byteSize((long) rows * in);
                GgmlQuants.quantize(stored, merged, dst.asSlice(stored.byteSize((long) first * in), bytes));
            }
        }
    }
}
