package org.align4j.demo;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.align4j.gguf.CharTokenizer;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.SamplerChain;
import org.align4j.llama.Vocab;
import org.align4j.train.LlamaWeights;
import org.align4j.train.ReferenceForward;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo preset as llama.cpp sees it: the character tokenizer gives one token per character of every
 * committed prompt and completion and gives the text back, EOS ends generation, and a synthesized model
 * loads and decodes whole records (agreeing with the pure-Java forward pass the trainer builds on).
 */
class DemoModelTest {
    static final int LLAMA_TOKEN_ATTR_NORMAL = 1 << 2, LLAMA_TOKEN_ATTR_CONTROL = 1 << 3, LLAMA_TOKEN_ATTR_BYTE = 1 << 5;
    static final double REFERENCE_TOLERANCE = 1e-3; // nats, on every log-softmax value (as ReferenceForwardTest)
    static final SynthPreset DEMO = SynthPreset.named("demo");

    @TempDir static Path tmp;
    static Path model;

    @BeforeAll
    static void synth() {
        model = tmp.resolve("demo.gguf");
        SyntheticLlama.write(model, "demo", DEMO.shape(), DEMO.tokenizer(), GgmlType.F32, 42);
    }

    /** BOS (if asked) and then the character tokens of ASCII {@code text}, computed without llama.cpp. */
    static int[] expectedTokens(String text, boolean bos) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int[] out = new int[utf8.length + (bos ? 1 : 0)];
        int k = 0;
        if (bos) {
            out[k++] = CharTokenizer.BOS;
        }
        for (byte b : utf8) {
            out[k++] = CharTokenizer.tokenOf(b);
        }
        return out;
    }

    static int[] concat(int[]... parts) {
        int[] out = new int[Arrays.stream(parts).mapToInt(p -> p.length).sum()];
        int k = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, k, p.length);
            k += p.length;
        }
        return out;
    }

    @Test
    void specialTokensAreWhatLlamaCppNeeds() {
        try (Vocab v = Vocab.open(model)) {
            assertThat(v.type()).isEqualTo(Vocab.Type.SPM);
            assertThat(v.nTokens()).isEqualTo(CharTokenizer.VOCAB_SIZE);
            assertThat(v.bos()).isEqualTo(CharTokenizer.BOS);
            assertThat(v.eos()).isEqualTo(CharTokenizer.EOS);
            assertThat(v.addsBos()).isTrue();
            assertThat(v.isEog(v.eos())).as("EOS ends generation").isTrue();
            assertThat(v.isEog(v.bos())).isFalse();
            for (int t = 0; t < v.nTokens(); t++) {
                if (t != v.eos()) {
                    assertThat(v.isEog(t)).as("token %d ends generation", t).isFalse();
                }
            }
            assertThat(v.attributes(v.bos()) & LLAMA_TOKEN_ATTR_CONTROL).isNotZero();
            assertThat(v.attributes(v.eos()) & LLAMA_TOKEN_ATTR_CONTROL).isNotZero();
            assertThat(v.attributes(CharTokenizer.tokenOf((byte) '7')) & LLAMA_TOKEN_ATTR_NORMAL).isNotZero();
            assertThat(v.attributes(CharTokenizer.tokenOf((byte) '\n')) & LLAMA_TOKEN_ATTR_BYTE).isNotZero();
            assertThat(v.tokenToPiece(CharTokenizer.tokenOf((byte) '+'), false)).isEqualTo("+");
            assertThat(v.tokenToPiece(v.eos(), false)).as("EOS is not text").isEmpty();
            assertThat(v.tokenToPiece(v.eos(), true)).isEqualTo("</s>");
            assertThat(v.tokenize("", true, false)).containsExactly(CharTokenizer.BOS);
            assertThat(v.tokenize("</s>", false, true)).as("special text parsed when asked").containsExactly(CharTokenizer.EOS);
            assertThat(v.tokenize("</s>", false, false)).isEqualTo(expectedTokens("</s>", false));
        }
    }

    @Test
    void everyCommittedPromptAndCompletionIsOneTokenPerCharacterAndComesBack() {
        Path sets = DemoSetsTest.committedSets();
        List<String[]> pairs = new ArrayList<>(); // (prompt, completion)
        for (String file : List.of(DemoSets.HELDOUT_FILE, DemoSets.TRAIN_FILE)) {
            for (JsonNode r : DemoSetsTest.records(sets.resolve(file))) {
                pairs.add(new String[] {r.get("prompt").asText(), r.get("answer").asText()});
            }
        }
        for (JsonNode r : DemoSetsTest.records(sets.resolve(DemoSets.SFT_FILE))) {
            pairs.add(new String[] {r.get("prompt").asText(), r.get("completion").asText()});
        }
        int longest = 0;
        List<String> failures = new ArrayList<>();
        try (Vocab v = Vocab.open(model)) {
            for (String[] pc : pairs) {
                String prompt = pc[0], completion = pc[1];
                int[] p = v.tokenize(prompt, true, false);
                int[] c = v.tokenize(completion, false, false);
                int[] whole = concat(p, c, new int[] {v.eos()});
                longest = Math.max(longest, whole.length);
                if (!Arrays.equals(p, expectedTokens(prompt, true))
                        || !Arrays.equals(c, expectedTokens(completion, false))
                        || !Arrays.equals(v.tokenize(prompt + completion, true, false), concat(p, c))
                        || !v.detokenize(p, true, false).equals(prompt)
                        || !v.detokenize(c, false, false).equals(completion)
                        || !v.detokenize(whole, false, false).equals(prompt + completion)) {
                    failures.add(prompt + completion + ": prompt " + Arrays.toString(p) + ", completion " + Arrays.toString(c));
                }
            }
        }
        System.out.printf("demo sets: %d prompt/completion pairs tokenized one token per character, %d failures; "
                + "longest record %d tokens with BOS and EOS (context %d)%n", pairs.size(), failures.size(), longest, DEMO.shape().ctx());
        assertThat(pairs).hasSizeGreaterThan(20_000);
        assertThat(failures).isEmpty();
        assertThat(longest).isEqualTo(14).isLessThanOrEqualTo(DEMO.shape().ctx());
    }

    @Test
    void anyTextComesBackAndPrintableAsciiIsOneTokenPerCharacter() {
        List<String> ascii = List.of("Hello, world!", " leading and  double  spaces ", "{\"a\": [1, 2.5e-3]}", "~`!@#$%^&*()_-+=|\\<>?/",
                "<s>37+485=</s>", "<0x41>");
        List<String> other = List.of("line\nbreak\ttab\r", "caf\u00e9 \u00fcber \u4e2d\u6587 \uD83D\uDE42", "\u2581", "\u0000\u007f");
        try (Vocab v = Vocab.open(model)) {
            for (String s : ascii) {
                int[] ids = v.tokenize(s, true, false);
                assertThat(ids).as("'%s'", s).isEqualTo(expectedTokens(s, true));
                assertThat(v.detokenize(ids, true, false)).isEqualTo(s);
            }
            for (String s : other) {
                int[] ids = v.tokenize(s, false, false);
                String back = v.detokenize(ids, false, false);
                System.out.printf("%s: %d tokens%n", s.codePoints().mapToObj(c -> c < 0x20 || c == 0x7F ? String.format("\\x%02x", c)
                        : Character.toString(c)).collect(Collectors.joining("", "'", "'")), ids.length);
                if (s.equals("\u2581")) {
                    assertThat(back).as("U+2581 is SentencePiece's space: it comes back as one").isEqualTo(" ");
                } else {
                    assertThat(ids).as("one token per UTF-8 byte: '%s'", s).hasSize(s.getBytes(StandardCharsets.UTF_8).length);
                    assertThat(back).isEqualTo(s);
                }
            }
        }
    }

    @Test
    void theDemoModelLoadsAndDecodesAWholeRecordLikeTheReferenceForward() {
        String prompt = "999+999=", completion = "1998";
        int[] tokens;
        float[][] cpp; // (T, V)
        try (Model m = Model.load(model, ModelOptions.DEFAULT)) {
            var s = DEMO.shape();
            assertThat(m.nLayer()).isEqualTo(s.layers());
            assertThat(m.nEmbd()).isEqualTo(s.embd());
            assertThat(m.nHead()).isEqualTo(s.heads());
            assertThat(m.nHeadKv()).isEqualTo(s.kvHeads());
            assertThat(m.nCtxTrain()).isEqualTo(s.ctx());
            Vocab v = m.vocab();
            tokens = concat(v.tokenize(prompt, true, false), v.tokenize(completion, false, false), new int[] {v.eos()});
            try (Context ctx = Context.create(m, ContextOptions.single(s.ctx()));
                 Batch batch = new Batch(tokens.length, 1)) {
                for (int t = 0; t < tokens.length; t++) {
                    batch.add(tokens[t], t, 0, true);
                }
                ctx.decode(batch);
                cpp = new float[tokens.length][];
                for (int t = 0; t < tokens.length; t++) {
                    cpp[t] = ctx.logits(t).toArray(JAVA_FLOAT);
                    assertThat(cpp[t]).hasSize(CharTokenizer.VOCAB_SIZE);
                }
                try (SamplerChain greedy = SamplerChain.builder().greedy(v.nTokens())) {
                    int next = greedy.sample(ctx, tokens.length - 1);
                    assertThat(next).isBetween(0, v.nTokens() - 1);
                }
            }
        }
        float[][] ours = new ReferenceForward(LlamaWeights.load(model)).logits(tokens);
        double maxDiff = 0, spread = 0;
        for (int t = 0; t < tokens.length; t++) {
            double[] expected = ReferenceForward.logSoftmax(cpp[t]);
            double[] actual = ReferenceForward.logSoftmax(ours[t]);
            for (int i = 0; i < expected.length; i++) {
                assertThat(Double.isFinite(expected[i])).isTrue();
                maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
                spread = Math.max(spread, Math.abs(expected[i] - expected[0]));
            }
        }
        System.out.printf("demo model on %s%s</s>: T=%d V=%d; max |diff| log-softmax llama.cpp vs ReferenceForward = %.3g (tolerance %.0e)%n",
                prompt, completion, tokens.length, CharTokenizer.VOCAB_SIZE, maxDiff, REFERENCE_TOLERANCE);
        assertThat(spread).as("random weights give non-constant logits").isGreaterThan(1e-4);
        assertThat(maxDiff).isLessThan(REFERENCE_TOLERANCE);
    }
}
