package org.align4j.dpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.SplittableRandom;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaWeights;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Continuing from an adapter file ({@link DpoOptions#initialAdapter()}): its tensors come back exactly; another adapter's settings are refused naming the file. */
class AdapterFileTest {
    @TempDir Path tmp;

    @Test
    void anAdapterReadsBackBitForBitAndAnotherSettingsAdapterIsRefusedNamingTheFile() {
        SynthPreset tiny = SynthPreset.named("tiny");
        Path base = tmp.resolve("base.gguf");
        SyntheticLlama.write(base, "base", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 1);
        try (GgufFile file = GgufFile.open(base)) {
            LlamaWeights frozen = LlamaWeights.frozen(file);
            EnumSet<LoraParams.Target> all = EnumSet.allOf(LoraParams.Target.class);
            LoraParams written = LoraParams.create(frozen, all, 4, 8f, 7);
            SplittableRandom rng = new SplittableRandom(3);
            written.adapters().forEach(a -> {
                float[] b = a.matrix().b();
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) rng.nextGaussian();
                }
            });
            Path adapter = tmp.resolve("adapter.gguf");
            LoraExport.write(written, adapter);

            LoraParams read = LoraParams.create(frozen, all, 4, 8f, 99); // another A, B zero
            AdapterFile.readInto(read, adapter);
            for (int i = 0; i < read.tensors().size(); i++) {
                LlamaParams.Tensor t = read.tensors().get(i);
                assertThat(t.data()).as(t.name()).containsExactly(written.tensors().get(i).data());
            }
            assertThatThrownBy(() -> AdapterFile.readInto(LoraParams.create(frozen, all, 4, 4f, 1), adapter))
                    .isInstanceOf(Align4jException.class).hasMessageContaining(adapter.toString()).hasMessageContaining("--lora-alpha");
            assertThatThrownBy(() -> AdapterFile.readInto(LoraParams.create(frozen, all, 2, 8f, 1), adapter))
                    .isInstanceOf(Align4jException.class).hasMessageContaining(adapter.toString()).hasMessageContaining("--lora-rank");
            assertThatThrownBy(() -> AdapterFile.readInto(LoraParams.create(frozen, EnumSet.of(LoraParams.Target.Q), 4, 8f, 1), adapter))
                    .isInstanceOf(Align4jException.class).hasMessageContaining(adapter.toString()).hasMessageContaining("--lora-targets");
            assertThatThrownBy(() -> AdapterFile.readInto(read, base))
                    .isInstanceOf(Align4jException.class).hasMessageContaining(base + ": not a LoRA adapter");
        }
    }
}
