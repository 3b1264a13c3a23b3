package org.align4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.align4j.Align4jException;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.LlamaShape;

/**
 * A Llama model's parameters as mutable f32 tensors named as in GGUF, in the order of the file they
 * came from, with that file's metadata (so that an export or a checkpoint carries the same
 * hyper-parameters and tokenizer). A gradient buffer is a {@link #zerosLike()} of the parameters.
 *
 * <p>{@link #weights()} is a view over the same arrays in the layout the forward pass reads. With a
 * tied output there is no {@code output.weight}: the output projection is {@code token_embd.weight},
 * so its gradients from both uses add into that one tensor.
 */
public final class LlamaParams {

    /**
     * One tensor. {@code dims} is ne0-first as in GGUF: a matrix [in, out] is stored (out, in) row-major
     * in {@code data}; a vector is [n].
     */
    public record Tensor(String name, long[] dims, float[] data) {
        public Tensor {
            dims = dims.clone();
        }

        @Override
        public long[] dims() {
            return dims.clone();
        }
    }

    private final SequencedMap<String, GgufValue> metadata;
    private final LlamaWeights weights;
    private final List<Tensor> tensors;
    private final Map<String, Tensor> byName = new HashMap<>();

    private LlamaParams(SequencedMap<String, GgufValue> metadata, LlamaWeights weights, List<String> order) {
        this.metadata = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(metadata));
        this.weights = weights;
        Map<String, Tensor> all = named(weights);
        List<Tensor> ordered = new ArrayList<>();
        for (String name : order) {
            ordered.add(all.get(name));
        }
        this.tensors = List.copyOf(ordered);
        tensors.forEach(t -> byName.put(t.name(), t));
    }

    /** Reads and decodes (F32, F16, BF16, Q8_0) every tensor of a llama GGUF; errors as {@link LlamaWeights#load}. */
    public static LlamaParams load(Path gguf) {
        try (GgufFile f = GgufFile.open(gguf)) {
            return read(f, name -> false, key -> false);
        }
    }

    /** From an open file, leaving out the tensors and the metadata keys the predicates name (a checkpoint's own). */
    static LlamaParams read(GgufFile f, Predicate<String> skipTensor, Predicate<String> skipKey) {
        LlamaWeights w = LlamaWeights.read(f, skipTensor);
        List<String> order = f.tensors().stream().map(GgufTensorInfo::name).filter(skipTensor.negate()).toList();
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
        f.metadata().forEach((k, v) -> {
            if (!skipKey.test(k)) {
                metadata.put(k, v);
            }
        });
        return new LlamaParams(metadata, w, order);
    }

    public LlamaShape shape() {
        return weights.shape();
    }

    public int vocabSize() {
        return weights.vocabSize();
    }

    /** The source file's key-value pairs in file order (unmodifiable). */
    public SequencedMap<String, GgufValue> metadata() {
        return metadata;
    }

    /** Every tensor, in the source file's order. */
    public List<Tensor> tensors() {
        return tensors;
    }

    public Tensor tensor(String name) {
        Tensor t = byName.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor named '" + name + "'");
        }
        return t;
    }

    /** The forward pass's view: the same arrays. */
    public LlamaWeights weights() {
        return weights;
    }

    /** Same names, shapes, order and metadata, all zeros: a gradient buffer. */
    public LlamaParams zerosLike() {
        return mapped(a -> new float[a.length]);
    }

    /** A deep copy. */
    public LlamaParams copy() {
        return mapped(float[]::clone);
    }

    /** Sets every element to zero. */
    public void zero() {
        tensors.forEach(t -> Arrays.fill(t.data(), 0f));
    }

    private LlamaParams mapped(UnaryOperator<float[]> f) {
        return new LlamaParams(metadata, weights.map(f), tensors.stream().map(Tensor::name).toList());
    }

    // Every tensor of the structure under its GGUF name, with ne0-first dims.
    private static Map<String, Tensor> named(LlamaWeights w) {
        LlamaShape s = w.shape();
        long c = s.embd();
        long k = (long) s.kvHeads() * s.headDim();
        long f = s.ffn();
        long v = w.vocabSize();
        Map<String, Tensor> m = new LinkedHashMap<>();
        put(m, "token_embd.weight", w.tokenEmbd(), c, v);
        for (int l = 0; l < w.layers().size(); l++) {
            LlamaWeights.Layer layer = w.layers().get(l);
            String blk = "blk." + l + ".";
            put(m, blk + "attn_norm.weight", layer.attnNorm(), c);
            put(m, blk + "attn_q.weight", layer.wq(), c, c);
            put(m, blk + "attn_k.weight", layer.wk(), c, k);
            put(m, blk + "attn_v.weight", layer.wv(), c, k);
            put(m, blk + "attn_output.weight", layer.wo(), c, c);
            put(m, blk + "ffn_norm.weight", layer.ffnNorm(), c);
            put(m, blk + "ffn_gate.weight", layer.wGate(), c, f);
            put(m, blk + "ffn_up.weight", layer.wUp(), c, f);
            put(m, blk + "ffn_down.weight", layer.wDown(), f, c);
        }
        put(m, "output_norm.weight", w.outputNorm(), c);
        if (w.output() != w.tokenEmbd()) {
            put(m, "output.weight", w.output(), c, v);
        }
        return m;
    }

    private static void put(Map<String, Tensor> m, String name, float[] data, long... dims) {
        if (Arrays.stream(dims).reduce(1, Math::multiplyExact) != data.length) {
            throw new Align4jException(name + ": " + data.length + " values for dims " + Arrays.toString(dims));
        }
        m.put(name, new Tensor(name, dims, data));
    }
}
