package org.align4j.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reward model file is its model's GGUF with the head's keys added: every key and tensor byte as it was,
 * the head read back as written, and llama.cpp loads it as the base architecture.
 */
class RewardModelFileTest {
    static final SynthPreset TINY = SynthPreset.named("tiny");

    @TempDir Path tmp;

    static RewardHead head(int c, float scale) {
        float[] w = new float[c];
        for (int i = 0; i < c; i++) {
            w[i] = scale * (i - c / 2f) / c;
        }
        return new RewardHead(w, -0.25f * scale);
    }

    @Test
    void keepsEveryKeyAndTensorByteAndAddsTheHead() {
        Path lm = tmp.resolve("lm.gguf");
        SyntheticLlama.write(lm, "tiny", TINY.shape(), VocabFiles.named(TINY.vocab()), GgmlType.Q8_0, 3);
        Path rm = tmp.resolve("rm.gguf");
        Path again = tmp.resolve("rm2.gguf");
        RewardHead first = head(TINY.shape().embd(), 1f);
        RewardHead second = head(TINY.shape().embd(), -2f);
        try (GgufFile model = GgufFile.open(lm)) {
            RewardModelFile.write(model, first, rm);
            try (GgufFile out = GgufFile.open(rm)) {
                assertThat(RewardModelFile.hiddenSize(out)).isEqualTo(TINY.shape().embd());
                model.metadata().forEach((k, v) -> assertThat(out.metadata().get(k)).as(k).isEqualTo(v));
                assertThat(out.metadata()).hasSize(model.metadata().size() + 2);
                assertThat(out.tensors()).extracting(GgufTensorInfo::name).containsExactlyElementsOf(
                        model.tensors().stream().map(GgufTensorInfo::name).toList());
                for (GgufTensorInfo t : model.tensors()) {
                    assertThat(out.tensor(t.name()).type()).isEqualTo(t.type());
                    assertThat(out.tensorData(t.name()).mismatch(model.tensorData(t.name()))).as(t.name()).isEqualTo(-1L);
                }
                RewardHead read = RewardHead.read(out, TINY.shape().embd());
                assertThat(read.weights()).containsExactly(first.weights());
                assertThat(read.bias()).isEqualTo(first.bias());
                // A head written over a head replaces it.
                RewardModelFile.write(out, second, again);
            }
        }
        try (GgufFile out = GgufFile.open(again)) {
            assertThat(RewardHead.read(out, TINY.shape().embd()).weights()).containsExactly(second.weights());
            assertThat(out.metadata().keySet().stream().filter(k -> k.startsWith("align4j.reward."))).hasSize(2);
        }
        try (Model m = Model.load(rm, ModelOptions.DEFAULT)) {
            assertThat(m.nEmbd()).isEqualTo(TINY.shape().embd());
        }
    }
}
