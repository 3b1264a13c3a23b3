package org.align4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.align4j.Align4jException;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;

/**
 * A Llama-family model's weights decoded to f32, as the forward pass reads them: the file's
 * {@link LlamaShape} (its architecture included) and its tensors by {@link LlamaTensor}, the optional
 * ones (biases, q/k norms, rope_freqs) absent unless the file holds them.
 *
 * <p>Shapes use the letters of {@link org.align4j.train}. Every matrix is row-major (out, in), which
 * is how GGUF stores a weight whose ggml dims are [in, out]. With a tied output there is no
 * {@link LlamaTensor#OUTPUT}: {@link #output()} is the same array as {@link #tokenEmbd()}. The arrays
 * are shared, never copied: the {@link LlamaParams} that owns them may change them between passes;
 * nothing else writes to them. {@link LlamaTensor#ROPE_FREQS} is frozen: a function of the
 * converter's RoPE scaling settings, not a learned weight (Hugging Face keeps it as a buffer).
 *
 * <p>Weights read {@link #frozen} keep every matrix in the file's type as a {@link FrozenMatrix} view
 * of the open file ({@code frozenModel} and {@link Layer#frozen}), and only vectors as f32: the float[]
 * accessors of matrices then return null. A LoRA model ({@link LoraParams#weights}) holds a {@link LoraMatrix}
 * there instead for each adapted matrix. The passes read every matrix through {@link #matrix}.
 */
public record LlamaWeights(LlamaShape shape, int vocabSize, Map<LlamaTensor, float[]> model, List<Layer> layers,
        Map<LlamaTensor, WeightMatrix> frozenModel) {

    /** One transformer block's tensors; the accessors of optional ones return null when it has none. */
    public record Layer(Map<LlamaTensor, float[]> tensors, Map<LlamaTensor, WeightMatrix> frozen) {
        public Layer {
            tensors = copyOf(tensors);
            frozen = copyOf(frozen);
        }

        public Layer(Map<LlamaTensor, float[]> tensors) {
            this(tensors, Map.of());
        }

        /** (C,) */
        public float[] attnNorm() { return tensors.get(LlamaTensor.ATTN_NORM); }
        /** (Q, C) */
        public float[] wq() { return tensors.get(LlamaTensor.ATTN_Q); }
        /** (Q,) or null */
        public float[] bq() { return tensors.get(LlamaTensor.ATTN_Q_BIAS); }
        /** (K, C) */
        public float[] wk() { return tensors.get(LlamaTensor.ATTN_K); }
        /** (K,) or null */
        public float[] bk() { return tensors.get(LlamaTensor.ATTN_K_BIAS); }
        /** (K, C) */
        public float[] wv() { return tensors.get(LlamaTensor.ATTN_V); }
        /** (K,) or null */
        public float[] bv() { return tensors.get(LlamaTensor.ATTN_V_BIAS); }
        /** (D,) or null */
        public float[] qNorm() { return tensors.get(LlamaTensor.ATTN_Q_NORM); }
        /** (D,) or null */
        public float[] kNorm() { return tensors.get(LlamaTensor.ATTN_K_NORM); }
        /** (C, Q) */
        public float[] wo() { return tensors.get(LlamaTensor.ATTN_OUTPUT); }
        /** (C,) or null */
        public float[] bo() { return tensors.get(LlamaTensor.ATTN_OUTPUT_BIAS); }
        /** (C,) */
        public float[] ffnNorm() { return tensors.get(LlamaTensor.FFN_NORM); }
        /** (F, C) */
        public float[] wGate() { return tensors.get(LlamaTensor.FFN_GATE); }
        /** (F,) or null */
        public float[] bGate() { return tensors.get(LlamaTensor.FFN_GATE_BIAS); }
        /** (F, C) */
        public float[] wUp() { return tensors.get(LlamaTensor.FFN_UP); }
        /** (F,) or null */
        public float[] bUp() { return tensors.get(LlamaTensor.FFN_UP_BIAS); }
        /** (C, F) */
        public float[] wDown() { return tensors.get(LlamaTensor.FFN_DOWN); }
        /** (C,) or null */
        public float[] bDown() { return tensors.get(LlamaTensor.FFN_DOWN_BIAS); }
    }

    public LlamaWeights {
        model = copyOf(model);
        layers = List.copyOf(layers);
        frozenModel = copyOf(frozenModel);
    }

    // An unmodifiable copy in LlamaTensor order (EnumMap's copy constructor refuses an empty Map.of()).
    private static <V> Map<LlamaTensor, V> copyOf(Map<LlamaTensor, V> m) {
        return m.isEmpty() ? Map.of() : Collections.unmodifiableMap(new EnumMap<>(m));
    }

    public LlamaWeights(LlamaShape shape, int vocabSize, Map<LlamaTensor, float[]> model, List<Layer> layers) {
        this(shape, vocabSize, model, layers, Map.of());
    }

    /**
     * The model-level matrix {@code kind} ({@link LlamaTensor#TOKEN_EMBD}, {@link LlamaTensor#OUTPUT}:
     * the embedding when the output is tied), frozen or f32.
     */
    public WeightMatrix matrix(LlamaTensor kind) {
        LlamaTensor k = kind == LlamaTensor.OUTPUT && !model.containsKey(kind) && !frozenModel.containsKey(kind) ? LlamaTensor.TOKEN_EMBD : kind;
        return matrix(k, frozenModel.get(k), model.get(k));
    }

    /** Matrix {@code kind} of block {@code layer}, frozen or f32; null when the block has none. */
    public WeightMatrix matrix(int layer, LlamaTensor kind) {
        Layer l = layers.get(layer);
        return matrix(kind, l.frozen().get(kind), l.tensors().get(kind));
    }

    private WeightMatrix matrix(LlamaTensor kind, WeightMatrix frozen, float[] data) {
        if (frozen != null || data == null) {
            return frozen;
        }
        long[] dims = kind.dims(shape, vocabSize); // [I, O]
        if (dims.length != 2) {
            throw new IllegalArgumentException(kind + " is not a matrix");
        }
        return new F32Matrix(data, Math.toIntExact(dims[1]), Math.toIntExact(dims[0]));
    }

    /** (V, C) */
    public float[] tokenEmbd() {
        return model.get(LlamaTensor.TOKEN_EMBD);
    }

    /** (C,) */
    public float[] outputNorm() {
        return model.get(LlamaTensor.OUTPUT_NORM);
    }

    /** (V, C): output.weight, or token_embd.weight when the output is tied. */
    public float[] output() {
        return model.getOrDefault(LlamaTensor.OUTPUT, tokenEmbd());
    }

    /** (V,) or null */
    public float[] outputBias() {
        return model.get(LlamaTensor.OUTPUT_BIAS);
    }

    /** (D/2,) Llama 3's RoPE frequency divisors, or null. */
    public float[] ropeFreqs() {
        return model.get(LlamaTensor.ROPE_FREQS);
    }

    /**
     * Reads and decodes every tensor of a GGUF whose architecture the trainer implements
     * ({@link Architecture}). Anything the forward pass would not compute exactly as llama.cpp does
     * (another architecture, RoPE scaling other than linear or Llama 3's, a tensor it does not use, a
     * type it cannot decode) is an {@link Align4jException} naming the file and what is missing.
     */
    public static LlamaWeights load(Path path) {
        try (GgufFile f = GgufFile.open(path)) {
            return read(f, name -> false);
        }
    }

    /** As {@link #load}, from an open file, leaving out the tensors {@code skip} names (a checkpoint's extras). */
    static LlamaWeights read(GgufFile file, Predicate<String> skip) {
        return new Reader(file, skip, false).read();
    }

    /**
     * The weights of {@code file} with every matrix left in the file's type, a {@link FrozenMatrix} view
     * of its mapping (token_embd and output too: rows and tiles are decoded as the passes need them),
     * and only vectors (norms, biases, rope_freqs) decoded to f32. Valid while {@code file} is open;
     * checks and errors as {@link #load}.
     */
    public static LlamaWeights frozen(GgufFile file) {
        return new Reader(file, name -> false, true).read();
    }

    /** The same structure over {@code f} of each trainable array; a tied output stays tied, rope_freqs is shared. */
    LlamaWeights map(UnaryOperator<float[]> f) {
        List<Layer> mapped = layers.stream().map(l -> new Layer(mapValues(l.tensors(), f), l.frozen())).toList();
        return new LlamaWeights(shape, vocabSize, mapValues(model, f), mapped, frozenModel);
    }

    /** Whether the optimizer trains tensors of this kind: all but the frozen rope_freqs. */
    static boolean trainable(LlamaTensor t) {
        return t != LlamaTensor.ROPE_FREQS;
    }

    private static Map<LlamaTensor, float[]> mapValues(Map<LlamaTensor, float[]> m, UnaryOperator<float[]> f) {
        Map<LlamaTensor, float[]> out = new EnumMap<>(LlamaTensor.class);
        m.forEach((k, v) -> out.put(k, trainable(k) ? f.apply(v) : v));
        return out;
    }

    private static final class Reader {
        private static final Map<String, String> NOT_IMPLEMENTED = Map.of(
                "gemma2", "sandwich norms (post-attention and post-FFN RMSNorm), attention and final logit soft-capping, GeGLU,"
                        + " sliding-window attention on alternate layers, norm weights stored minus 1, embeddings scaled by sqrt(C)",
                "gemma3", "sandwich norms, q/k norms, GeGLU, interleaved sliding-window layers with their own RoPE base,"
                        + " norm weights stored minus 1, embeddings scaled by sqrt(C)",
                "phi3", "the fused q|k|v projection (attn_qkv) and gate|up projection (ffn_up holds both),"
                        + " LongRoPE (rope_factors_long/short), sliding-window attention");

        private final GgufFile file;
        private final boolean frozen; // matrices as views of the file, not decoded
        private final Set<String> unread = new HashSet<>();
        private Architecture arch;

        Reader(GgufFile file, Predicate<String> skip, boolean frozen) {
            this.file = file;
            this.frozen = frozen;
            file.tensors().stream().map(GgufTensorInfo::name).filter(skip.negate()).forEach(unread::add);
        }

        LlamaWeights read() {
            String name = file.has("general.architecture") ? file.string("general.architecture") : "(none)";
            arch = Architecture.named(name).orElseThrow(() -> unsupported("architecture '" + name + "' (it implements "
                    + Architecture.names() + (NOT_IMPLEMENTED.containsKey(name) ? "; " + name + " needs " + NOT_IMPLEMENTED.get(name) : "")
                    + ")"));
            boolean tied = !unread.contains(LlamaTensor.OUTPUT.ggufName());
            LlamaShape shape = shape(tied);
            String embd = LlamaTensor.TOKEN_EMBD.ggufName();
            if (!unread.contains(embd) || file.tensor(embd).dims().length != 2) {
                throw new Align4jException(file.path() + ": " + arch.ggufName() + " needs a 2-D tensor " + embd + ", which the file does not hold");
            }
            int vocab = Math.toIntExact(file.tensor(embd).dims()[1]);

            Map<LlamaTensor, float[]> model = new EnumMap<>(LlamaTensor.class);
            Map<LlamaTensor, WeightMatrix> frozenModel = new EnumMap<>(LlamaTensor.class);
            List<Layer> layers = new ArrayList<>();
            for (LlamaTensor t : LlamaTensor.values()) {
                if (!t.perBlock()) {
                    readInto(model, frozenModel, t, t.ggufName(), shape, vocab);
                }
            }
            for (int l = 0; l < shape.layers(); l++) {
                Map<LlamaTensor, float[]> block = new EnumMap<>(LlamaTensor.class);
                Map<LlamaTensor, WeightMatrix> frozenBlock = new EnumMap<>(LlamaTensor.class);
                for (LlamaTensor t : LlamaTensor.values()) {
                    if (t.perBlock()) {
                        readInto(block, frozenBlock, t, t.nameIn(l), shape, vocab);
                    }
                }
                layers.add(new Layer(block, frozenBlock));
            }
            if (!unread.isEmpty()) {
                throw unsupported("tensors the " + arch.ggufName() + " forward pass does not use: " + new TreeSet<>(unread));
            }
            checkRopeFreqs(model.get(LlamaTensor.ROPE_FREQS), shape);
            return new LlamaWeights(shape, vocab, model, layers, frozenModel);
        }

        private void readInto(Map<LlamaTensor, float[]> into, Map<LlamaTensor, WeightMatrix> frozenInto, LlamaTensor t, String name,
                LlamaShape shape, int vocab) {
            boolean present = unread.contains(name);
            if (arch.required().contains(t)) {
                if (!present) {
                    throw new Align4jException(file.path() + ": " + arch.ggufName() + " needs tensor " + name + ", which the file does not hold");
                }
            } else if (!present || !arch.optional().contains(t)) {
                return; // absent, or not the architecture's: left unread, so refused below
            }
            if (t == LlamaTensor.ROPE_FREQS && !Arrays.equals(file.tensor(name).dims(), t.dims(shape, vocab))) {
                throw new Align4jException(file.path() + ": malformed " + name + ": Llama 3's RoPE frequency factors are one per pair of"
                        + " head values, " + shape.headDim() / 2 + " for head width " + shape.headDim() + ", not dims "
                        + Arrays.toString(file.tensor(name).dims()));
            }
            long[] dims = t.dims(shape, vocab);
            if (frozen && dims.length == 2) {
                frozenInto.put(t, view(name, dims));
            } else {
                into.put(t, decode(name, dims));
            }
        }

        private void checkRopeFreqs(float[] factors, LlamaShape shape) {
            if (factors == null) {
                return;
            }
            for (int p = 0; p < factors.length; p++) {
                if (!(factors[p] > 0) || Float.isInfinite(factors[p])) {
                    throw new Align4jException(file.path() + ": malformed " + LlamaTensor.ROPE_FREQS.ggufName() + ": factor " + p + " is "
                            + factors[p] + " (RoPE divides frequencies by them: they must be positive and finite)");
                }
            }
        }

        private LlamaShape shape(boolean tied) {
            if (file.has(arch.key("expert_count")) && intKey("expert_count") > 0) {
                throw unsupported("mixture-of-experts blocks (" + arch.key("expert_count") + " = " + intKey("expert_count") + ")");
            }
            int embd = intKey("embedding_length");
            int heads = intKey("attention.head_count");
            int headDim = file.has(arch.key("attention.key_length")) ? intKey("attention.key_length") : embd / Math.max(heads, 1);
            int valueDim = file.has(arch.key("attention.value_length")) ? intKey("attention.value_length") : embd / Math.max(heads, 1);
            if (valueDim != headDim) {
                throw unsupported("value heads of width " + valueDim + " beside key heads of width " + headDim);
            }
            LlamaShape shape;
            try {
                shape = new LlamaShape(
                        arch,
                        intKey("block_count"),
                        embd,
                        heads,
                        file.has(arch.key("attention.head_count_kv")) ? intKey("attention.head_count_kv") : heads,
                        headDim,
                        intKey("feed_forward_length"),
                        intKey("context_length"),
                        // llama.cpp's default when a file leaves the base out
                        file.has(arch.key("rope.freq_base")) ? (float) file.number(arch.key("rope.freq_base")) : 10_000f,
                        ropeLinearFactor(),
                        (float) file.number(arch.key("attention.layer_norm_rms_epsilon")),
                        tied);
            } catch (IllegalArgumentException e) {
                throw new Align4jException(file.path() + ": invalid " + arch.ggufName() + " hyper-parameters: " + e.getMessage(), e);
            }
            if (file.has(arch.key("rope.dimension_count")) && intKey("rope.dimension_count") != shape.headDim()) {
                throw unsupported("RoPE over " + intKey("rope.dimension_count") + " of " + shape.headDim() + " head dimensions");
            }
            return shape;
        }

        // llama.cpp (llama-model.cpp, load_hparams): the scaling type defaults to linear, its factor to
        // none (the old key rope.scale_linear stands in), and type none never scales.
        private float ropeLinearFactor() {
            String type = file.has(arch.key("rope.scaling.type")) ? file.string(arch.key("rope.scaling.type")) : "linear";
            if (file.has(arch.key("rope.scaling.attn_factor")) && file.number(arch.key("rope.scaling.attn_factor")) != 1) {
                throw unsupported("RoPE scaling with an attention factor (" + arch.key("rope.scaling.attn_factor") + " = "
                        + file.number(arch.key("rope.scaling.attn_factor")) + ")");
            }
            return switch (type) {
                case "none" -> 1f;
                case "linear" -> {
                    String key = file.has(arch.key("rope.scaling.factor")) ? arch.key("rope.scaling.factor") : arch.key("rope.scale_linear");
                    double factor = file.has(key) ? file.number(key) : 0;
                    yield factor == 0 ? 1f : (float) factor;
                }
                default -> throw unsupported("RoPE scaling '" + type + "' (it implements linear scaling and Llama 3's rope_freqs)");
            };
        }

        private int intKey(String suffix) {
            return Math.toIntExact(file.integer(arch.key(suffix)));
        }

        private FrozenMatrix view(String name, long... dims) {
            checkDims(name, dims);
            FrozenMatrix m = FrozenMatrix.of(file, name);
            unread.remove(name);
            return m;
        }

        private void checkDims(String name, long... dims) {
            GgufTensorInfo t = file.tensor(name);
            if (!Arrays.equals(t.dims(), dims)) {
                throw new Align4jException(file.path() + ": tensor " + name + " has dims " + Arrays.toString(t.dims())
                        + " where the hyper-parameters give " + Arrays.toString(dims));
            }
        }

        private float[] decode(String name, long... dims) {
            checkDims(name, dims);
            GgufTensorInfo t = file.tensor(name);
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
