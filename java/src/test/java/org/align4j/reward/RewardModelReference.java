package org.align4j.reward;

import java.nio.file.Path;
import java.util.List;
import org.align4j.engine.TokenizedRecord;
import org.align4j.gguf.RewardHead;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;

/**
 * The rm: reward computed directly, for tests to hold the served one against: each plain-text completion
 * after {@code promptText}, tokenized by the RM as every job tokenizes (EOS appended), decoded alone in one
 * sequence through llama.cpp's embeddings API, its last hidden state dotted with the head in float64.
 */
public final class RewardModelReference {
    private RewardModelReference() {}

    /** A reward head of {@code size} weights drawn N(0, 1) with {@code seed}, and bias 0.5. */
    public static RewardHead randomHead(int size, long seed) {
        java.util.Random rnd = new java.util.Random(seed);
        float[] w = new float[size];
        for (int i = 0; i < size; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        return new RewardHead(w, 0.5f);
    }

    /** (K,) the rewards of {@code completions} after {@code promptText}. */
    public static double[] rewards(Path rm, RewardHead head, String promptText, List<String> completions) {
        double[] out = new double[completions.size()];
        try (Model m = Model.load(rm, ModelOptions.inference(0))) {
            TokenizedRecord t = TokenizedRecord.ofText(promptText, completions.toArray(String[]::new), false, m.vocab());
            for (int k = 0; k < out.length; k++) {
                int[] c = t.completions()[k];
                int n = t.prompt().length + c.length;
                float[] h = new float[m.nEmbd()];
                // flash attention off as the served scorers have it: on, the CPU backend rounds queries to F16
                ContextOptions one = new ContextOptions(n, n, n, 1, 2, true, ContextOptions.FlashAttention.OFF,
                        ContextOptions.HiddenStates.EVERY_TOKEN);
                try (Context ctx = Context.create(m, one); Batch b = new Batch(n, 1)) {
                    for (int i = 0; i < n; i++) {
                        b.add(i < t.prompt().length ? t.prompt()[i] : c[i - t.prompt().length], i, 0, true);
                    }
                    ctx.decode(b);
                    ctx.hiddenState(n - 1, h);
                }
                double r = head.bias();
                for (int i = 0; i < h.length; i++) {
                    r += (double) head.weights()[i] * h[i];
                }
                out[k] = r;
            }
        }
        return out;
    }
}
