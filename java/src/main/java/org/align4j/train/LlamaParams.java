package org.align4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.align4j.Align4jException;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;

/**
 * A Llama-family model's parameters as mutable f32 tensors named as in GGUF, in the order of the file
 * they came from, with that file's metadata (so that an export or a checkpoint carries the same
 * hyper-parameters and tokenizer). A gradient buffer is a {@link #zerosLike()} of the parameters.
 *
 * <p>{@link #weights()} is a view over the same arrays in the layout the forward pass reads. With a
 * tied output there is no {@code output.weight}: the output projection is {@code token_embd.weight},
 * so its gradients from both uses add into that one tensor. {@link #tensors()} are the trained ones;
 * a frozen tensor (Llama 3's {@code rope_freqs.weight}) is only in {@link #fileTensors()}, shared
 * by copies and gradient buffers and never written.
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
    private final List<Tensor> fileTensors;
    private final List<Tensor> tensors;
    private final Map<String, Tensor> byName = new HashMap<>();

    private LlamaParams(SequencedMap<String, GgufValue> metadata, LlamaWeights weights, List<String> order) {
        this.metadata = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(metadata));
        this.weights = weights;
        Map<String, Tensor> all = new HashMap<>();
        Set<String> trained = new HashSet<>();
        named(weights, (kind, t) -> {
            all.put(t.name(), t);
            if (LlamaWeights.trainable(kind)) {
                trained.add(t.name());
            }
        });
        List<Tensor> ordered = new ArrayList<>();
        for (String name : order) {
            ordered.add(all.get(name));
        }
        this.fileTensors = List.copyOf(ordered);
        this.tensors = fileTensors.stream().filter(t -> trained.contains(t.name())).toList();
        fileTensors.forEach(t -> byName.put(t.name(), t));
    }

    /** Reads and decodes (F32, F16, BF16, Q8_0) every tensor of a llama, qwen2 or qwen3 GGUF; errors as {@link LlamaWeights#load}. */
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

    /** Every trained tensor, in the source file's order. */
    public List<Tensor> tensors() {
        return tensors;
    }

    /** Every tensor, frozen ones included, in the source file's order: what an export or a checkpoint writes. */
    public List<Tensor> fileTensors() {
        return fileTensors;
    }

    /** Any tensor of {@link #fileTensors()}, by name. */
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

    /** Sets every element of the trained tensors to zero. */
    public void zero() {
        tensors.forEach(t -> Arrays.fill(t.data(), 0f));
    }

    private LlamaParams mapped(UnaryOperator<float[]> f) {
        return new LlamaParams(metadata, weights.map(f), fileTensors.stream().map(Tensor::name).toList());
    }

    // Every tensor of the structure under its GGUF name, with ne0-first dims.
    private static void named(LlamaWeights w, BiConsumer<LlamaTensor, Tensor> out) {
        w.model().forEach((kind, data) -> out.accept(kind, tensor(kind.ggufName(), data, kind.dims(w.shape(), w.vocabSize()))));
        for (int l = 0; l < w.layers().size(); l++) {
            int block = l;
            w.layers().get(l).tensors().forEach((kind, data) ->
                    out.accept(kind, tensor(kind.nameIn(block), data, kind.dims(w.shape(), w.vocabSize()))));
        }
    }

    private static Tensor tensor(String name, float[] data, long... dims) {
        if (Arrays.stream(dims).reduce(1, Math::multiplyExact) != data.length) {
            throw new Align4jException(name + ": " + data.length + " values for dims " + Arrays.toString(dims));
        }
        return new Tensor(name, dims, data);
    }
}
