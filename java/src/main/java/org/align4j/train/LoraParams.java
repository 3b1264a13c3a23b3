package org.align4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;

/**
 * A LoRA adapter over a frozen base: for each adapted matrix W (O, I) of each block, trainable f32
 * A (r, I) and B (O, r), applied as W + (alpha / r) B A ({@link LoraMatrix}). The tensors are named as
 * llama.cpp's adapter files name them, {@code <base tensor>.lora_a} with dims [I, r] and
 * {@code .lora_b} with dims [r, O] (ne0 first: the arrays are A and B row-major, which is also PEFT's
 * lora_A (r, in) and lora_B (out, r)), in block order and, within a block, {@link LlamaTensor}'s order.
 *
 * <p>{@link #weights()} is the forward pass's view: the base's weights with each adapted matrix a
 * {@link LoraMatrix} over the base's own (usually a frozen view of the file). A gradient buffer is
 * {@link #zerosLike()}: its {@link #weights()} hold only the A and B gradients, so a backward with it
 * adds nothing anywhere else; the base is never written. Only the adapter's tensors are trained:
 * {@link #adamParams} hands them to {@link AdamW}.
 */
public final class LoraParams {
    /** The matrices an adapter can act on, by the names PEFT's target_modules and align4j's options use. */
    public enum Target {
        Q(LlamaTensor.ATTN_Q), K(LlamaTensor.ATTN_K), V(LlamaTensor.ATTN_V), O(LlamaTensor.ATTN_OUTPUT),
        GATE(LlamaTensor.FFN_GATE), UP(LlamaTensor.FFN_UP), DOWN(LlamaTensor.FFN_DOWN);

        public final LlamaTensor kind;

        Target(LlamaTensor kind) {
            this.kind = kind;
        }

        /** "q", "gate", ...: the option's spelling. */
        public static Target named(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown LoRA target '" + name + "' (targets: "
                        + Arrays.stream(values()).map(t -> t.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(",")) + ")", e);
            }
        }
    }

    /** One adapted matrix: block {@code layer}'s {@code kind}, whose GGUF tensor is {@code baseName}. */
    public record Adapter(int layer, LlamaTensor kind, String baseName, LoraMatrix matrix) {}

    private final LlamaWeights base;
    private final int rank;
    private final float alpha;
    private final float dropout;
    private final List<Adapter> adapters;
    private final List<LlamaParams.Tensor> tensors;
    private final LlamaWeights weights;

    private LoraParams(LlamaWeights base, int rank, float alpha, float dropout, List<Adapter> adapters, boolean gradients) {
        this.base = base;
        this.rank = rank;
        this.alpha = alpha;
        this.dropout = dropout;
        this.adapters = List.copyOf(adapters);
        List<LlamaParams.Tensor> named = new ArrayList<>();
        List<Map<LlamaTensor, WeightMatrix>> perLayer = new ArrayList<>();
        for (int l = 0; l < base.layers().size(); l++) {
            perLayer.add(gradients ? new EnumMap<>(LlamaTensor.class) : new EnumMap<>(base.layers().get(l).frozen()));
        }
        for (Adapter ad : adapters) {
            LoraMatrix m = ad.matrix();
            named.add(new LlamaParams.Tensor(ad.baseName() + ".lora_a", new long[] {m.in(), rank}, m.a()));
            named.add(new LlamaParams.Tensor(ad.baseName() + ".lora_b", new long[] {rank, m.out()}, m.b()));
            perLayer.get(ad.layer()).put(ad.kind(), m);
        }
        this.tensors = List.copyOf(named);
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < perLayer.size(); l++) {
            layers.add(new LlamaWeights.Layer(gradients ? Map.of() : base.layers().get(l).tensors(), perLayer.get(l)));
        }
        this.weights = gradients
                ? new LlamaWeights(base.shape(), base.vocabSize(), Map.of(), layers, Map.of())
                : new LlamaWeights(base.shape(), base.vocabSize(), base.model(), layers, base.frozenModel());
    }

    /**
     * A rank-{@code rank} adapter with scale alpha / rank on the {@code targets} of every block of
     * {@code base} (which it never writes): A drawn as PEFT draws it ({@link LoraMatrix#initA}) from
     * {@code seed}, adapter after adapter in tensor order, and B zeros, so that it starts as the base.
     */
    public static LoraParams create(LlamaWeights base, Set<Target> targets, int rank, float alpha, long seed) {
        return create(base, new LoraConfig(rank, alpha, targets), seed);
    }

    /**
     * The adapter of {@code config} on every block of {@code base}, drawn from {@code seed} as
     * {@link #create(LlamaWeights, Set, int, float, long)}, each matrix with the config's dropout.
     */
    public static LoraParams create(LlamaWeights base, LoraConfig config, long seed) {
        int rank = config.rank();
        float alpha = config.alpha();
        SplittableRandom rng = new SplittableRandom(seed);
        float scale = alpha / rank;
        List<Adapter> adapters = new ArrayList<>();
        for (int l = 0; l < base.layers().size(); l++) {
            for (Target t : Target.values()) {
                if (!config.targets().contains(t)) {
                    continue;
                }
                WeightMatrix w = base.matrix(l, t.kind);
                if (w instanceof LoraMatrix) {
                    throw new IllegalArgumentException("block " + l + " " + t + " already has an adapter");
                }
                float[] a = new float[Math.multiplyExact(rank, w.in())];
                LoraMatrix.initA(a, w.in(), rng);
                LoraMatrix m = new LoraMatrix(w, a, new float[Math.multiplyExact(w.out(), rank)], rank, scale).withDropout(config.dropout());
                adapters.add(new Adapter(l, t.kind, t.kind.nameIn(l), m));
            }
        }
        return new LoraParams(base, rank, alpha, config.dropout(), adapters, false);
    }

    public LlamaShape shape() {
        return base.shape();
    }

    /** The base the adapter acts on, without it. */
    public LlamaWeights base() {
        return base;
    }

    public int rank() {
        return rank;
    }

    public float alpha() {
        return alpha;
    }

    /** alpha / r. */
    public float scale() {
        return alpha / rank;
    }

    /** p of the dropout on each adapted matrix's input in training passes ({@link LoraDropout}); 0: none. */
    public float dropout() {
        return dropout;
    }

    public List<Adapter> adapters() {
        return adapters;
    }

    /** The trained tensors, A then B of each adapter, in order: what an adapter file holds. */
    public List<LlamaParams.Tensor> tensors() {
        return tensors;
    }

    /** The forward pass's view: base plus adapter (for a gradient buffer, the A and B gradients only). */
    public LlamaWeights weights() {
        return weights;
    }

    /** Same adapters, names and shapes, all zeros: a gradient buffer for {@link LlamaPass#backward}. */
    public LoraParams zerosLike() {
        List<Adapter> zeros = adapters.stream().map(ad -> {
            LoraMatrix m = ad.matrix();
            return new Adapter(ad.layer(), ad.kind(), ad.baseName(),
                    new LoraMatrix(m.base(), new float[m.a().length], new float[m.b().length], rank, m.scale()));
        }).toList();
        return new LoraParams(base, rank, alpha, 0, zeros, true);
    }

    /**
     * Sets every tensor of the adapter to {@code values} of its name (a checkpoint's), copying.
     *
     * @throws IllegalArgumentException naming the tensor if one is missing or of another size
     */
    public void set(java.util.function.Function<String, float[]> values) {
        for (LlamaParams.Tensor t : tensors) {
            float[] v = values.apply(t.name());
            if (v == null || v.length != t.data().length) {
                throw new IllegalArgumentException(t.name() + ": " + (v == null ? "missing" : v.length + " values, not " + t.data().length));
            }
            System.arraycopy(v, 0, t.data(), 0, v.length);
        }
    }

    /** Sets every element of the adapter's tensors to zero. */
    public void zero() {
        tensors.forEach(t -> Arrays.fill(t.data(), 0f));
    }

    /** The adapter's tensors with their gradients in {@code grads} (a {@link #zerosLike()}), for {@link AdamW}; all decayed (2-D). */
    public List<AdamW.Param> adamParams(LoraParams grads) {
        if (grads.tensors.size() != tensors.size()) {
            throw new IllegalArgumentException("gradients of another adapter");
        }
        List<AdamW.Param> out = new ArrayList<>();
        for (int i = 0; i < tensors.size(); i++) {
            out.add(new AdamW.Param(tensors.get(i).name(), tensors.get(i).data(), grads.tensors.get(i).data(), true));
        }
        return out;
    }
}
