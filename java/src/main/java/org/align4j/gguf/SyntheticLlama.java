package org.align4j.gguf;

import org.align4j.SplitMix64;
import static org.align4j.SplitMix64.mix;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.LongStream;

/**
 * Writes Llama-family GGUFs ({@link Architecture}) that llama.cpp loads: seeded random weights and
 * biases (normal, std {@value #WEIGHT_STD}; norm weights 1.0; 1-D tensors F32, as llama.cpp's
 * converters keep them), the tensors the architecture's real models carry (qwen2's q/k/v biases,
 * qwen3's q/k norms, Llama 3's rope_freqs when asked), and a tokenizer: every {@code tokenizer.*} key
 * of a real vocab GGUF, or one built in code.
 *
 * <p>Deterministic: each tensor's stream is seeded from (seed, tensor name) and split into chunks of
 * rows whose seeds depend only on the chunk index, so the bytes do not depend on how many threads
 * fill the chunks. (The same JDK is assumed: {@code nextGaussian}'s algorithm is the JDK's.)
 */
public final class SyntheticLlama {
    public static final float WEIGHT_STD = 0.02f;
    public static final String TOKENS_KEY = TokenizerMetadata.TOKENS_KEY;
    private static final int CHUNK_VALUES = 1 << 16; // values generated per task, about; whole rows

    /** What was written. {@code parameters} counts every tensor element. */
    public record Result(Path path, long parameters, GgmlType type, long fileBytes, int vocabSize) {}

    private SyntheticLlama() {}

    /**
     * Refuses types this generator cannot store this shape in: only F32, F16 and Q8_0, and Q8_0 only
     * when every row it quantizes (lengths embd and ffn) is a multiple of its 32-value block.
     */
    public static void checkType(LlamaShape shape, GgmlType type) {
        if (type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.Q8_0) {
            throw new IllegalArgumentException("synthetic models are F32, F16 or Q8_0, not " + type);
        }
        requireWholeBlocks(type, "embd", shape.embd());
        requireWholeBlocks(type, "ffn", shape.ffn());
        requireWholeBlocks(type, "heads * head-dim", shape.queryWidth());
    }

    private static void requireWholeBlocks(GgmlType type, String option, int rowLength) {
        if (rowLength % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " quantizes rows in blocks of " + type.blockSize() + " values, so "
                    + option + " must be a multiple of " + type.blockSize() + " (it is " + rowLength + ")");
        }
    }

    /** Writes the model to {@code out} (atomically) with the tokenizer of {@code vocabFile}, a GGUF holding one. */
    public static Result write(Path out, String name, LlamaShape shape, Path vocabFile, GgmlType type, long seed) {
        checkType(shape, type); // before reading the vocab file, so a bad type is the error reported
        return write(out, name, shape, TokenizerMetadata.fromFile(vocabFile), type, seed);
    }

    /** Writes the model to {@code out} (atomically) with {@code tokenizer}. */
    public static Result write(Path out, String name, LlamaShape shape, TokenizerMetadata tokenizer, GgmlType type, long seed) {
        return write(out, name, shape, null, tokenizer, type, seed);
    }

    /**
     * As {@link #write(Path, String, LlamaShape, TokenizerMetadata, GgmlType, long)}, with Llama 3's RoPE
     * scaling as a rope_freqs tensor unless {@code ropeFreqs} is null (a llama shape only).
     */
    public static Result write(Path out, String name, LlamaShape shape, Llama3Rope ropeFreqs, TokenizerMetadata tokenizer,
                               GgmlType type, long seed) {
        checkType(shape, type);
        if (ropeFreqs != null && !shape.architecture().optional().contains(LlamaTensor.ROPE_FREQS)) {
            throw new IllegalArgumentException(shape.architecture().ggufName() + " has no rope_freqs tensor (Llama 3 RoPE scaling is llama's)");
        }
        int vocabSize = tokenizer.vocabSize();
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
        header(metadata, name, shape, type, vocabSize);
        metadata.putAll(tokenizer.keys());
        List<GgufWriter.Tensor> tensors = tensors(shape, ropeFreqs, type, vocabSize, seed);
        long parameters = tensors.stream().mapToLong(t -> Arrays.stream(t.dims()).reduce(1, Math::multiplyExact)).sum();
        long bytes = GgufWriter.write(out, metadata, tensors);
        return new Result(out, parameters, type, bytes, vocabSize);
    }

    private static void header(SequencedMap<String, GgufValue> m, String name, LlamaShape s, GgmlType type, int vocabSize) {
        Architecture a = s.architecture();
        m.put("general.architecture", GgufValue.string(a.ggufName()));
        m.put("general.name", GgufValue.string(name));
        m.put(a.key("context_length"), GgufValue.uint32(s.ctx()));
        m.put(a.key("embedding_length"), GgufValue.uint32(s.embd()));
        m.put(a.key("block_count"), GgufValue.uint32(s.layers()));
        m.put(a.key("feed_forward_length"), GgufValue.uint32(s.ffn()));
        m.put(a.key("attention.head_count"), GgufValue.uint32(s.heads()));
        m.put(a.key("attention.head_count_kv"), GgufValue.uint32(s.kvHeads()));
        if ((long) s.heads() * s.headDim() != s.embd()) {
            m.put(a.key("attention.key_length"), GgufValue.uint32(s.headDim()));
            m.put(a.key("attention.value_length"), GgufValue.uint32(s.headDim()));
        }
        m.put(a.key("rope.freq_base"), GgufValue.float32(s.ropeTheta()));
        if (s.ropeLinearFactor() != 1f) {
            m.put(a.key("rope.scaling.type"), GgufValue.string("linear"));
            m.put(a.key("rope.scaling.factor"), GgufValue.float32(s.ropeLinearFactor()));
        }
        m.put(a.key("attention.layer_norm_rms_epsilon"), GgufValue.float32(s.rmsEps()));
        m.put(a.key("rope.dimension_count"), GgufValue.uint32(s.headDim()));
        m.put(a.key("vocab_size"), GgufValue.uint32(vocabSize));
        m.put("general.file_type", GgufValue.uint32(llamaFileType(type)));
        m.put("general.quantization_version", GgufValue.uint32(2)); // GGML_QNT_VERSION
    }

    // llama_ftype in llama.h.
    private static int llamaFileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q8_0 -> 7;
            default -> throw new IllegalArgumentException("no llama file type for " + type);
        };
    }

    // In LlamaTensor's order; block tensors block by block.
    private static List<GgufWriter.Tensor> tensors(LlamaShape s, Llama3Rope ropeFreqs, GgmlType type, int vocabSize, long seed) {
        Architecture a = s.architecture();
        Set<LlamaTensor> written = EnumSet.copyOf(a.required());
        written.addAll(a.conventional());
        if (!s.tiedOutput()) {
            written.add(LlamaTensor.OUTPUT);
        }
        if (ropeFreqs != null) {
            written.add(LlamaTensor.ROPE_FREQS);
        }
        List<GgufWriter.Tensor> t = new ArrayList<>();
        for (LlamaTensor kind : written.stream().filter(k -> !k.perBlock() && k.ordinal() < LlamaTensor.ATTN_NORM.ordinal()).toList()) {
            t.add(tensor(kind, kind.ggufName(), s, ropeFreqs, type, vocabSize, seed));
        }
        for (int l = 0; l < s.layers(); l++) {
            for (LlamaTensor kind : written.stream().filter(LlamaTensor::perBlock).toList()) {
                t.add(tensor(kind, kind.nameIn(l), s, ropeFreqs, type, vocabSize, seed));
            }
        }
        for (LlamaTensor kind : written.stream().filter(k -> !k.perBlock() && k.ordinal() > LlamaTensor.ATTN_NORM.ordinal()).toList()) {
            t.add(tensor(kind, kind.ggufName(), s, ropeFreqs, type, vocabSize, seed));
        }
        return t;
    }

    private static GgufWriter.Tensor tensor(LlamaTensor kind, String name, LlamaShape s, Llama3Rope ropeFreqs, GgmlType type,
                                            int vocabSize, long seed) {
        long[] dims = kind.dims(s, vocabSize);
        return switch (kind.kind()) {
            case MATRIX -> random(name, type, seed, Math.toIntExact(dims[0]), Math.toIntExact(dims[1]));
            case BIAS -> vector(name, randomValues(mix(seed ^ mix(name.hashCode())), Math.toIntExact(dims[0])));
            case NORM -> ones(name, Math.toIntExact(dims[0]));
            case FREQ_FACTORS -> vector(name, ropeFreqs.freqFactors(s.headDim(), s.ropeTheta()));
        };
    }

    private static GgufWriter.Tensor vector(String name, float[] x) {
        return new GgufWriter.Tensor(name, GgmlType.F32, new long[] {x.length}, dst -> GgmlQuants.quantize(GgmlType.F32, x, dst));
    }

    private static float[] randomValues(long seed, int n) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextGaussian() * WEIGHT_STD);
        }
        return x;
    }

    private static GgufWriter.Tensor ones(String name, int n) {
        return new GgufWriter.Tensor(name, GgmlType.F32, new long[] {n}, dst -> {
            float[] x = new float[n];
            Arrays.fill(x, 1.0f);
            GgmlQuants.quantize(GgmlType.F32, x, dst);
        });
    }

    private static GgufWriter.Tensor random(String name, GgmlType type, long seed, int rowLength, int rows) {
        long tensorSeed = mix(seed ^ mix(name.hashCode()));
        int rowsPerChunk = Math.max(1, CHUNK_VALUES / rowLength);
        long chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        long rowBytes = type.byteSize(rowLength);
        Consumer<MemorySegment> fill = dst -> LongStream.range(0, chunks).parallel().forEach(c -> {
            long first = c * rowsPerChunk;
            int n = (int) Math.min(rowsPerChunk, rows - first);
            float[] x = new float[n * rowLength]; // (n, rowLength)
            SplittableRandom rng = new SplittableRandom(mix(tensorSeed + c * SplitMix64.GOLDEN));
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (rng.nextGaussian() * WEIGHT_STD);
            }
            GgmlQuants.quantize(type, x, dst.asSlice(first * rowBytes, n * rowBytes));
        });
        return new GgufWriter.Tensor(name, type, new long[] {rowLength, rows}, fill);
    }

}
