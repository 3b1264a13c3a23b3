package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A synthetic model written by our GGUF writer loads in llama.cpp and decodes, through our bindings. */
class ModelDecodeTest {
    @TempDir static Path tmp;
    static final SynthPreset TINY = SynthPreset.named("tiny");
    static final int LLAMA_TOKEN_ATTR_NORMAL = 1 << 2, LLAMA_TOKEN_ATTR_CONTROL = 1 << 3; // llama_token_attr

    static Path tinyF32;

    @BeforeAll
    static void writeModel() {
        tinyF32 = synth(GgmlType.F32);
    }

    static Path synth(GgmlType type) {
        Path out = tmp.resolve("tiny-" + type.name().toLowerCase() + ".gguf");
        SyntheticLlama.write(out, "tiny", TINY.shape(), VocabFiles.named(TINY.vocab()), type, 42);
        return out;
    }

    static float[] logitsAfter(Context ctx, int[] prompt) {
        try (Batch b = new Batch(prompt.length, 1)) {
            for (int i = 0; i < prompt.length; i++) {
                b.add(prompt[i], i, 0, i == prompt.length - 1);
            }
            ctx.decode(b);
        }
        return ctx.logits(-1).toArray(JAVA_FLOAT);
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "Q8_0"})
    void loadsWithTheShapeWeWroteAndDecodesDeterministically(GgmlType type) {
        Path file = type == GgmlType.F32 ? tinyF32 : synth(type);
        try (Model m = Model.load(file, ModelOptions.DEFAULT)) {
            var s = TINY.shape();
            assertThat(m.nLayer()).isEqualTo(s.layers());
            assertThat(m.nEmbd()).isEqualTo(s.embd());
            assertThat(m.nHead()).isEqualTo(s.heads());
            assertThat(m.nHeadKv()).isEqualTo(s.kvHeads());
            assertThat(m.nCtxTrain()).isEqualTo(s.ctx());
            assertThat(m.meta("general.architecture")).isEqualTo("llama");
            Vocab vocab = m.vocab();
            assertThat(vocab.isEog(vocab.eos())).isTrue();
            assertThat(vocab.isEog(vocab.bos())).isFalse();
            assertThat(vocab.attributes(vocab.bos()) & LLAMA_TOKEN_ATTR_CONTROL).isNotZero();
            assertThat(vocab.attributes(vocab.tokenize("fox", false, false)[0]) & LLAMA_TOKEN_ATTR_NORMAL).isNotZero();
            int[] prompt = m.vocab().tokenize("The quick brown fox", true, false);

            float[] first;
            float[] second;
            try (Context c = Context.create(m, ContextOptions.single(64))) {
                assertThat(c.nVocab()).isEqualTo(m.vocab().nTokens());
                first = logitsAfter(c, prompt);
            }
            try (Context c = Context.create(m, ContextOptions.single(64))) {
                second = logitsAfter(c, prompt);
            }
            assertThat(first).hasSize(m.vocab().nTokens()).containsExactly(second);
            float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
            for (float v : first) {
                assertThat(Float.isFinite(v)).isTrue();
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            System.out.printf("%s: %d logits in [%.4f, %.4f]%n", type, first.length, min, max);
            assertThat(max - min).as("random weights give non-constant logits").isGreaterThan(1e-3f);
        }
    }

    @Test
    void aSequenceCopiedWithSeqCpContinuesExactlyLikeTheOriginal() {
        try (Model m = Model.load(tinyF32, ModelOptions.DEFAULT);
             Context shared = Context.create(m, new ContextOptions(128, 64, 64, 2, 2, true));
             Context direct = Context.create(m, ContextOptions.single(64))) {
            int[] prompt = m.vocab().tokenize("Prefix sharing", true, false);
            int next = m.vocab().tokenize(" works", false, false)[0];
            logitsAfter(shared, prompt);
            shared.seqCp(0, 1, -1, -1);
            assertThat(shared.seqPosMax(1)).isEqualTo(prompt.length - 1);
            float[] viaSeq0;
            float[] viaSeq1;
            try (Batch b = new Batch(2, 2)) {
                b.add(next, prompt.length, 0, true);
                b.add(next, prompt.length, 1, true);
                shared.decode(b);
                viaSeq0 = shared.logits(0).toArray(JAVA_FLOAT);
                viaSeq1 = shared.logits(1).toArray(JAVA_FLOAT);
            }
            int[] whole = new int[prompt.length + 1];
            System.arraycopy(prompt, 0, whole, 0, prompt.length);
            whole[prompt.length] = next;
            float[] reference = logitsAfter(direct, whole);
            double maxDiff = 0;
            for (int i = 0; i < reference.length; i++) {
                maxDiff = Math.max(maxDiff, Math.max(Math.abs(viaSeq0[i] - reference[i]), Math.abs(viaSeq1[i] - reference[i])));
            }
            System.out.printf("seq_cp continuation vs direct decode: max |diff| = %.3g%n", maxDiff);
            assertThat(viaSeq1).containsExactly(viaSeq0);
            assertThat(maxDiff).isLessThan(1e-4);
        }
    }

    @Test
    void greedySamplerPicksTheArgmax() {
        try (Model m = Model.load(tinyF32, ModelOptions.DEFAULT);
             Context c = Context.create(m, ContextOptions.single(64));
             SamplerChain greedy = SamplerChain.builder().greedy(m.vocab().nTokens())) {
            float[] logits = logitsAfter(c, m.vocab().tokenize("Hello", true, false));
            assertThat(greedy.sample(c, -1)).isEqualTo(argmax(logits));
        }
    }

    @Test
    void anOutOfRangeTokenIsAnInvalidBatchNamingTheToken() {
        try (Model m = Model.load(tinyF32, ModelOptions.DEFAULT);
             Context c = Context.create(m, ContextOptions.single(64));
             Batch b = new Batch(1, 1)) {
            int bad = m.vocab().nTokens() + 5;
            b.add(bad, 0, 0, true);
            assertThatThrownBy(() -> c.decode(b))
                    .isInstanceOfSatisfying(DecodeException.class, e -> {
                        assertThat(e.status()).isEqualTo(DecodeException.Status.INVALID_BATCH);
                        assertThat(e.recoverable()).isFalse();
                    })
                    .hasMessageContaining(Integer.toString(bad));
        }
    }

    @Test
    void batchCapacityIsCheckedUpFront() {
        try (Batch b = new Batch(2, 1)) {
            b.add(1, 0, 0, false);
            b.add(1, 1, 0, false);
            assertThatThrownBy(() -> b.add(1, 2, 0, false)).hasMessageContaining("full");
            assertThatThrownBy(() -> b.add(1, 2, new int[] {0, 1}, false)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void closingTwiceIsSafeAndTheModelClosesItsContextsFirst() {
        Model m = Model.load(tinyF32, ModelOptions.DEFAULT);
        Context c = Context.create(m, ContextOptions.single(32));
        m.close();
        assertThatThrownBy(c::nCtx).isInstanceOf(IllegalStateException.class);
        c.close();
        m.close();
        assertThatThrownBy(m::nLayer).isInstanceOf(IllegalStateException.class);
    }
}
