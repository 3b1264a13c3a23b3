package org.align4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.LlamaShape;

/**
 * A Llama-architecture model's weights decoded to f32, as the forward pass reads them.
 *
 * <p>Shapes use the letters of {@link org.align4j.train}. Every matrix is row-major (out, in), which
 * is how GGUF stores a weight whose ggml dims are [in, out]. With a tied output, {@code output} is the
 * same array as {@code tokenEmbd}. The arrays are shared, never copied: the {@link LlamaParams} that
 * owns them may change them between passes; nothing else writes to them.
 *
 * @param tokenEmbd  (V, C)
 * @param outputNorm (C,)
 * @param output     (V, C)
 */
public record LlamaWeights(LlamaShape shape, int vocabSize, float[] tokenEmbd, List<Layer> layers,
                           float[] outputNorm, float[] output) {

    /**
     * One transformer block.
     *
     * @param attnNorm (C,)
     * @param wq       (C, C)
     * @param wk       (K, C)
     * @param wv       (K, C)
     * @param wo       (C, C)
     * @param ffnNorm  (C,)
     * @param wGate    (F, C)
     * @param wUp      (F, C)
     * @param wDown    (C, F)
     */
    public record Layer(float[] attnNorm, float[] wq, float[] wk, float[] wv, float[] wo,
                        float[] ffnNorm, float[] wGate, float[] wUp, float[] wDown) {}

    public LlamaWeights {
        layers = List.copyOf(layers);
    }

    /**
     * Reads and decodes every tensor of a {@code general.architecture = llama} GGUF. Anything the
     * forward pass would not compute exactly as llama.cpp does (another architecture, RoPE scaling, a
     * tensor it does not use, a type it cannot decode) is an {@link Align4jException} naming the file.
     */
    public static LlamaWeights load(Path path) {
        try (GgufFile f = GgufFile.open(path)) {
            return read(f, name -> false);
        }
    }

    /** As {@link #load}, from an open file, leaving out the tensors {@code skip} names (a checkpoint's extras). */
    static LlamaWeights read(GgufFile file, Predicate<String> skip) {
        return new Reader(file, skip).read();
    }

    /** The same structure over {@code f} of each array; a tied output stays tied. */
    LlamaWeights map(UnaryOperator<float[]> f) {
        float[] embd = f.apply(tokenEmbd);
        List<Layer> mapped = layers.stream().map(l -> new Layer(f.apply(l.attnNorm), f.apply(l.wq), f.apply(l.wk),
                f.apply(l.wv), f.apply(l.wo), f.apply(l.ffnNorm), f.apply(l.wGate), f.apply(l.wUp), f.apply(l.wDown))).toList();
        return new LlamaWeights(shape, vocabSize, embd, mapped, f.apply(outputNorm), output == tokenEmbd ? embd : f.apply(output));
    }

    private static final class Reader {
        private final GgufFile file;
        private final Set<String> unread = new HashSet<>();

        Reader(GgufFile file, Predicate<String> skip) {
            this.file = file;
            file.tensors().stream().map(GgufTensorInfo::name).filter(skip.negate()).forEach(unread::add);
        }

        LlamaWeights read() {
            String arch = file.has("general.architecture") ? file.string("general.architecture") : "(none)";
            if (!arch.equals("llama")) {
                throw unsupported("architecture '" + arch + "' (it implements 'llama' only)");
            }
            if (file.has("llama.rope.scaling.type") && !file.string("llama.rope.scaling.type").equals("none")) {
                throw unsupported("RoPE scaling '" + file.string("llama.rope.scaling.type") + "'");
            }
            boolean tied = !unread.contains("output.weight");
            LlamaShape shape = shape(tied);
            int c = shape.embd();
            int k = shape.kvHeads() * shape.headDim();
            int f = shape.ffn();

            int vocab = Math.toIntExact(file.tensor("token_embd.weight").dims()[1]);
            float[] tokenEmbd = matrix("token_embd.weight", c, vocab);
            List<Layer> layers = new ArrayList<>();
            for (int l = 0; l < shape.layers(); l++) {
                String blk = "blk." + l + ".";
                layers.add(new Layer(
                        vector(blk + "attn_norm.weight", c),
                        matrix(blk + "attn_q.weight", c, c),
                        matrix(blk + "attn_k.weight", c, k),
                        matrix(blk + "attn_v.weight", c, k),
                        matrix(blk + "attn_output.weight", c, c),
                        vector(blk + "ffn_norm.weight", c),
                        matrix(blk + "ffn_gate.weight", c, f),
                        matrix(blk + "ffn_up.weight", c, f),
                        matrix(blk + "ffn_down.weight", f, c)));
            }
            float[] outputNorm = vector("output_norm.weight", c);
            float[] output = tied ? tokenEmbd : matrix("output.weight", c, vocab);
            if (!unread.isEmpty()) {
                throw unsupported("tensors the Llama forward pass does not use: " + new TreeSet<>(unread));
            }
            return new LlamaWeights(shape, vocab, tokenEmbd, layers, outputNorm, output);
        }

        private LlamaShape shape(boolean tied) {
            int heads = intKey("llama.attention.head_count");
            LlamaShape shape;
            try {
                shape = new LlamaShape(
                        intKey("llama.block_count"),
                        intKey("llama.embedding_length"),
                        heads,
                        file.has("llama.attention.head_count_kv") ? intKey("llama.attention.head_count_kv") : heads,
                        intKey("llama.feed_forward_length"),
                        intKey("llama.context_length"),
                        // llama.cpp's default when a file leaves the base out
                        file.has("llama.rope.freq_base") ? (float) file.number("llama.rope.freq_base") : 10_000f,
                        (float) file.number("llama.attention.layer_norm_rms_epsilon"),
                        tied);
            } catch (IllegalArgumentException e) {
                throw new Align4jException(file.path() + ": invalid Llama hyper-parameters: " + e.getMessage(), e);
            }
            if (file.has("llama.rope.dimension_count") && intKey("llama.rope.dimension_count") != shape.headDim()) {
                throw unsupported("RoPE over " + intKey("llama.rope.dimension_count") + " of " + shape.headDim() + " head dimensions");
            }
            return shape;
        }

        private int intKey(String key) {
            return Math.toIntExact(file.integer(key));
        }

        // (out, in)
        private float[] matrix(String name, int in, int out) {
            return decode(name, in, out);
        }

        private float[] vector(String name, int n) {
            return decode(name, n);
        }

        private float[] decode(String name, long... dims) {
            GgufTensorInfo t = file.tensor(name);
            if (!Arrays.equals(t.dims(), dims)) {
                throw new Align4jException(file.path() + ": tensor " + name + " has dims " + Arrays.toString(t.dims())
                        + " where the hyper-parameters give " + Arrays.toString(dims));
            }
            float[] x = new float[Math.toIntExact(t.elementCount())];
            try {
                GgmlQuants.dequantize(t.type(), file.tensorData(name), x);
            } catch (Align4jException e) {
                throw new Align4jException(file.path() + ": tensor " + name + ": " + e.getMessage(), e);
            }
            unread.remove(name);
            return x;
        }

        private Align4jException unsupported(String what) {
            return new Align4jException(file.path() + ": the Java forward pass does not support " + what);
        }
    }
}
