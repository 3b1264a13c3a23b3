package org.align4j.train;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.Llama3Rope;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;

/** Synthetic models and token sequences for trainer tests. */
final class TrainerTestModels {
    static final SynthPreset TINY = SynthPreset.named("tiny");

    private TrainerTestModels() {}

    /** A GGUF of {@code shape} (its architecture) with the tiny preset's tokenizer (llama-spm, V = 32000). */
    static Path write(Path dir, String name, LlamaShape shape, GgmlType type, long seed) {
        return write(dir, name, shape, null, Set.of(), type, seed);
    }

    /**
     * As {@link #write(Path, String, LlamaShape, GgmlType, long)}, with Llama 3's rope_freqs unless
     * {@code ropeFreqs} is null, and with the optional tensors {@code extra} that the synthetic models
     * leave out (biases), F32 normal with std 0.02, in every block for a per-block kind.
     */
    static Path write(Path dir, String name, LlamaShape shape, Llama3Rope ropeFreqs, Set<LlamaTensor> extra, GgmlType type, long seed) {
        Path out = dir.resolve(name + "-" + type.name().toLowerCase() + "-" + seed + ".gguf");
        SyntheticLlama.write(out, name, shape, ropeFreqs, TINY.tokenizer(), type, seed);
        if (extra.isEmpty()) {
            return out;
        }
        Path with = dir.resolve(name + "-" + type.name().toLowerCase() + "-" + seed + "-extra.gguf");
        SplittableRandom rng = new SplittableRandom(seed);
        try (GgufFile f = GgufFile.open(out)) {
            List<GgufWriter.Tensor> tensors = new ArrayList<>();
            for (GgufTensorInfo t : f.tensors()) {
                MemorySegment data = f.tensorData(t.name());
                tensors.add(new GgufWriter.Tensor(t.name(), t.type(), t.dims(), to -> MemorySegment.copy(data, 0, to, 0, to.byteSize())));
            }
            int vocab = Math.toIntExact(f.tensor("token_embd.weight").dims()[1]);
            // In declaration order: Set.of iterates in an order that changes from one JVM to the next, and with it the
            // order of the file's tensors, which randomize() draws for in turn (the generic point moved between runs).
            for (LlamaTensor kind : EnumSet.copyOf(extra)) {
                for (int l = 0; l < (kind.perBlock() ? shape.layers() : 1); l++) {
                    long[] dims = kind.dims(shape, vocab);
                    float[] x = new float[Math.toIntExact(dims[0])];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) (0.02 * rng.nextGaussian());
                    }
                    tensors.add(new GgufWriter.Tensor(kind.nameIn(l), GgmlType.F32, dims, to -> GgmlQuants.quantize(GgmlType.F32, x, to)));
                }
            }
            GgufWriter.write(with, f.metadata(), tensors);
        }
        return with;
    }

    /**
     * Replaces the synthetic weights (std 0.02, norms exactly 1, which make attention nearly uniform
     * and most gradients tiny) by a generic point: matrices normal with std 1/sqrt(fan-in), norm
     * weights 1 + N(0, 0.2^2), biases N(0, 0.2^2). Frozen tensors (rope_freqs) stay as they are.
     */
    static void randomize(LlamaParams params, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (LlamaParams.Tensor t : params.tensors()) {
            float[] x = t.data();
            boolean matrix = t.dims().length == 2;
            double mean = matrix || t.name().endsWith(".bias") ? 0 : 1;
            double std = matrix ? 1 / Math.sqrt(t.dims()[0]) : 0.2;
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (mean + std * rng.nextGaussian());
            }
        }
    }

    /**
     * The model at {@code source} moved to a generic point ({@link #randomize} with seed 3), scaled by
     * {@value ArchitectureParityTest#GENERIC_SCALE} so that logits stay of size ~1.
     */
    static LlamaParams genericPoint(Path source) {
        LlamaParams params = LlamaParams.load(source);
        randomize(params, 3);
        for (LlamaParams.Tensor t : params.tensors()) {
            float[] x = t.data();
            for (int i = 0; i < x.length; i++) {
                x[i] *= ArchitectureParityTest.GENERIC_SCALE;
            }
        }
        return params;
    }

    /** {@code n} token ids in [3, vocab), seeded. */
    static int[] tokens(SplittableRandom rng, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 3 + rng.nextInt(vocab - 3);
        }
        return t;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = new int[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
