package org.align4j.gguf;

import org.align4j.SplitMix64;
import static org.align4j.SplitMix64.mix;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.LongStream;

/**
 * Writes Llama-architecture GGUFs that llama.cpp loads: seeded random weights (normal, std
 * {@value #WEIGHT_STD}; norm weights 1.0, kept F32 as llama.cpp's converters keep 1-D tensors) and
 * a tokenizer: every {@code tokenizer.*} key of a real vocab GGUF, or one built in code.
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
        checkType(shape, type);
        int vocabSize = tokenizer.vocabSize();
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
        header(metadata, name, shape, type, vocabSize);
        metadata.putAll(tokenizer.keys());
        List<GgufWriter.Tensor> tensors = tensors(shape, type, vocabSize, seed);
        long parameters = tensors.stream().mapToLong(t -> Arrays.stream(t.dims()).reduce(1, Math::multiplyExact)).sum();
        long bytes = GgufWriter.write(out, metadata, tensors);
        return new Result(out, parameters, type, bytes, vocabSize);
    }

    private static void header(SequencedMap<String, GgufValue> m, String name, LlamaShape s, GgmlType type, int vocabSize) {
        m.put("general.architecture", GgufValue.string("llama"));
        m.put("general.name", GgufValue.string(name));
        m.put("llama.context_length", GgufValue.uint32(s.ctx()));
        m.put("llama.embedding_length", GgufValue.uint32(s.embd()));
        m.put("llama.block_count", GgufValue.uint32(s.layers()));
        m.put("llama.feed_forward_length", GgufValue.uint32(s.ffn()));
        m.put("llama.attention.head_count", GgufValue.uint32(s.heads()));
        m.put("llama.attention.head_count_kv", GgufValue.uint32(s.kvHeads()));
        m.put("llama.rope.freq_base", GgufValue.float32(s.ropeTheta()));
        m.put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(s.rmsEps()));
        m.put("llama.rope.dimension_count", GgufValue.uint32(s.headDim()));
        m.put("llama.vocab_size", GgufValue.uint32(vocabSize));
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

    // Shapes are ne0-first: a weight [in, out] maps rows of `in` values to `out` values.
    private static List<GgufWriter.Tensor> tensors(LlamaShape s, GgmlType type, int vocabSize, long seed) {
        int kvDim = s.kvHeads() * s.headDim();
        List<GgufWriter.Tensor> t = new ArrayList<>();
        t.add(random("token_embd.weight", type, seed, s.embd(), vocabSize));
        for (int l = 0; l < s.layers(); l++) {
            String blk = "blk." + l + ".";
            t.add(ones(blk + "attn_norm.weight", s.embd()));
            t.add(random(blk + "attn_q.weight", type, seed, s.embd(), s.embd()));
            t.add(random(blk + "attn_k.weight", type, seed, s.embd(), kvDim));
            t.add(random(blk + "attn_v.weight", type, seed, s.embd(), kvDim));
            t.add(random(blk + "attn_output.weight", type, seed, s.embd(), s.embd()));
            t.add(ones(blk + "ffn_norm.weight", s.embd()));
            t.add(random(blk + "ffn_gate.weight", type, seed, s.embd(), s.ffn()));
            t.add(random(blk + "ffn_up.weight", type, seed, s.embd(), s.ffn()));
            t.add(random(blk + "ffn_down.weight", type, seed, s.ffn(), s.embd()));
        }
        t.add(ones("output_norm.weight", s.embd()));
        if (!s.tiedOutput()) {
            t.add(random("output.weight", type, seed, s.embd(), vocabSize));
        }
        return t;
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
