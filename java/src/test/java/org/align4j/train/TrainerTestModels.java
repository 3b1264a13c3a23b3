package org.align4j.train;

import java.nio.file.Path;
import java.util.SplittableRandom;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;

/** Synthetic models and token sequences for trainer tests. */
final class TrainerTestModels {
    static final SynthPreset TINY = SynthPreset.named("tiny");

    private TrainerTestModels() {}

    /** A llama GGUF of {@code shape} with the tiny preset's tokenizer (llama-spm, V = 32000). */
    static Path write(Path dir, String name, LlamaShape shape, GgmlType type, long seed) {
        Path out = dir.resolve(name + "-" + type.name().toLowerCase() + "-" + seed + ".gguf");
        SyntheticLlama.write(out, name, shape, VocabFiles.named(TINY.vocab()), type, seed);
        return out;
    }

    /**
     * Replaces the synthetic weights (std 0.02, norms exactly 1, which make attention nearly uniform
     * and most gradients tiny) by a generic point: matrices normal with std 1/sqrt(fan-in), norm
     * weights 1 + N(0, 0.2^2).
     */
    static void randomize(LlamaParams params, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (LlamaParams.Tensor t : params.tensors()) {
            float[] x = t.data();
            boolean matrix = t.dims().length == 2;
            double std = matrix ? 1 / Math.sqrt(t.dims()[0]) : 0.2;
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) ((matrix ? 0 : 1) + std * rng.nextGaussian());
            }
        }
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
