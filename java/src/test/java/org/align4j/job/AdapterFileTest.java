package org.align4j.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.align4j.Align4jException;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaWeights;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraParams;
import org.align4j.train.PeftAdapter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Continuing from an adapter ({@link TrainerOptions#initialAdapter()}): a GGUF's tensors come back exactly, a
 * PEFT directory's as the GGUF it was written from (B's q/k rows permuted back for llama); its settings
 * are read from either; another adapter's settings, architecture or shape, and a PEFT config of rsLoRA or
 * DoRA, are refused naming the file.
 */
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
                    .isInstanceOf(Align4jException.class).hasMessageContaining(adapter.toString()).hasMessageContaining("LoRA alpha 8.0, and this run's is 4.0");
            assertThatThrownBy(() -> AdapterFile.readInto(LoraParams.create(frozen, all, 2, 8f, 1), adapter))
                    .isInstanceOf(Align4jException.class).hasMessageContaining(adapter.toString()).hasMessageContaining("an adapter of another rank or base");
            assertThatThrownBy(() -> AdapterFile.readInto(LoraParams.create(frozen, EnumSet.of(LoraParams.Target.Q), 4, 8f, 1), adapter))
                    .isInstanceOf(Align4jException.class).hasMessageContaining(adapter.toString()).hasMessageContaining("does not have or this run does not train");
            assertThatThrownBy(() -> AdapterFile.readInto(read, base))
                    .isInstanceOf(Align4jException.class).hasMessageContaining(base + ": not a LoRA adapter");
        }
    }

    @Test
    void settingsAndTensorsComeFromAGgufOrAPeftDirectoryAlike() {
        SynthPreset tiny = SynthPreset.named("tiny");
        Path base = tmp.resolve("base.gguf");
        SyntheticLlama.write(base, "base", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 1);
        try (GgufFile file = GgufFile.open(base)) {
            LlamaWeights frozen = LlamaWeights.frozen(file);
            Set<LoraParams.Target> targets = EnumSet.of(LoraParams.Target.Q, LoraParams.Target.K, LoraParams.Target.DOWN);
            LoraParams written = randomAdapter(frozen, targets, 4, 6f);
            Path adapter = tmp.resolve("qkdown.gguf");
            LoraExport.write(written, adapter);
            Path peft = tmp.resolve("qkdown-peft");
            PeftAdapter.write(adapter, frozen.shape(), null, 0f, peft);

            LoraConfig want = new LoraConfig(4, 6f, targets);
            assertThat(AdapterFile.settings(adapter)).isEqualTo(want);
            assertThat(AdapterFile.settings(peft)).isEqualTo(want);
            LoraParams read = LoraParams.create(frozen, targets, 4, 6f, 99);
            AdapterFile.readInto(read, peft);
            for (int i = 0; i < read.tensors().size(); i++) {
                LlamaParams.Tensor t = read.tensors().get(i);
                assertThat(t.data()).as(t.name()).containsExactly(written.tensors().get(i).data());
            }
            assertThatThrownBy(() -> AdapterFile.readInto(LoraParams.create(frozen, targets, 4, 8f, 1), peft))
                    .isInstanceOf(Align4jException.class).hasMessageContaining(peft.toString()).hasMessageContaining("and this run trains");
        }
    }

    @Test
    void anAdapterOfAnotherArchitectureShapeOrBlockCountIsRefusedNamingTheFile() {
        SynthPreset tiny = SynthPreset.named("tiny");
        LlamaShape shape = tiny.shape();
        Path base = tmp.resolve("base.gguf");
        SyntheticLlama.write(base, "base", shape, VocabFiles.named(tiny.vocab()), GgmlType.F32, 1);
        Path qwen2 = adapterOver(tiny, shape.withArchitecture(Architecture.QWEN2), "qwen2");
        Path wide = adapterOver(tiny, new LlamaShape(shape.layers(), shape.embd() * 2, shape.heads(), shape.kvHeads(), shape.ffn(),
                shape.ctx(), shape.ropeTheta(), shape.rmsEps(), shape.tiedOutput()), "wide");
        Path deeper = adapterOver(tiny, new LlamaShape(shape.layers() + 1, shape.embd(), shape.heads(), shape.kvHeads(), shape.ffn(),
                shape.ctx(), shape.ropeTheta(), shape.rmsEps(), shape.tiedOutput()), "deeper");
        Path widePeft = tmp.resolve("wide-peft");
        try (GgufFile f = GgufFile.open(tmp.resolve("wide-base.gguf"))) {
            PeftAdapter.write(wide, LlamaWeights.frozen(f).shape(), null, 0f, widePeft);
        }
        try (GgufFile file = GgufFile.open(base)) {
            LlamaWeights frozen = LlamaWeights.frozen(file);
            Set<LoraParams.Target> all = EnumSet.allOf(LoraParams.Target.class);
            record Case(Path adapter, String message) {}
            for (Case c : List.of(
                    new Case(qwen2, "an adapter for architecture qwen2, and the base is llama"),
                    new Case(wide, "an adapter of another rank or base"),
                    new Case(deeper, "adapts blk." + shape.layers() + ".attn_k.weight, which the base (" + shape.layers() + " blocks) does not have"),
                    new Case(widePeft, "matrix at rank 4 needs"))) {
                assertThatThrownBy(() -> AdapterFile.readInto(LoraParams.create(frozen, all, 4, 4f, 1), c.adapter()))
                        .as(c.adapter().toString()).isInstanceOf(Align4jException.class)
                        .hasMessageContaining(c.adapter().toString()).hasMessageContaining(c.message());
            }
        }
    }

    @Test
    void settingsRefuseRsLoraDoraBiasesForeignModulesAndTheOutputMatrixNamingTheFileAndField() throws IOException {
        SynthPreset tiny = SynthPreset.named("tiny");
        Path adapter = adapterOver(tiny, tiny.shape(), "plain");
        Path peft = tmp.resolve("plain-peft");
        PeftAdapter.write(adapter, tiny.shape(), null, 0f, peft);
        Path config = peft.resolve(PeftAdapter.CONFIG);
        String plain = Files.readString(config);
        record Case(String from, String to, String message) {}
        for (Case c : List.of(
                new Case("\"use_rslora\": false", "\"use_rslora\": true", "use_rslora = true is not supported"),
                new Case("\"use_dora\": false", "\"use_dora\": true", "use_dora = true is not supported"),
                new Case("\"bias\": \"none\"", "\"bias\": \"lora_only\"", "bias = \"lora_only\" is not supported"),
                new Case("\"q_proj\"", "\"lm_head\"", "target_modules entry \"lm_head\" is not one of"))) {
            assertThat(plain).contains(c.from());
            Files.writeString(config, plain.replace(c.from(), c.to()));
            assertThatThrownBy(() -> AdapterFile.settings(peft)).as(c.to()).isInstanceOf(Align4jException.class)
                    .hasMessageStartingWith(config + ": ").hasMessageContaining(c.message());
        }
        // A GGUF adapter that also adapts the output matrix, which llama.cpp takes and training does not.
        Path output = tmp.resolve("output.gguf");
        try (GgufFile f = GgufFile.open(adapter)) {
            List<GgufWriter.Tensor> tensors = new ArrayList<>();
            for (GgufTensorInfo t : f.tensors()) {
                tensors.add(new GgufWriter.Tensor(t.name(), t.type(), t.dims(), dst -> MemorySegment.copy(f.tensorData(t.name()), 0, dst, 0, dst.byteSize())));
            }
            long r = f.tensors().getFirst().dims()[1];
            tensors.add(new GgufWriter.Tensor("output.weight.lora_a", GgmlType.F32, new long[] {tiny.shape().embd(), r}, dst -> dst.fill((byte) 0)));
            GgufWriter.write(output, f.metadata(), tensors);
        }
        assertThatThrownBy(() -> AdapterFile.settings(output)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(output + ": tensor output.weight.lora_a adapts a matrix outside the seven targets");
    }

    // A rank-4, alpha-4 adapter with random B over a fresh model of `shape` (written to NAME-base.gguf).
    private Path adapterOver(SynthPreset preset, LlamaShape shape, String name) {
        Path base = tmp.resolve(name + "-base.gguf");
        SyntheticLlama.write(base, name, shape, VocabFiles.named(preset.vocab()), GgmlType.F32, 2);
        Path adapter = tmp.resolve(name + ".gguf");
        try (GgufFile f = GgufFile.open(base)) {
            LoraExport.write(randomAdapter(LlamaWeights.frozen(f), EnumSet.allOf(LoraParams.Target.class), 4, 4f), adapter);
        }
        return adapter;
    }

    private static LoraParams randomAdapter(LlamaWeights base, Set<LoraParams.Target> targets, int rank, float alpha) {
        LoraParams lora = LoraParams.create(base, targets, rank, alpha, 7);
        SplittableRandom rng = new SplittableRandom(3);
        lora.adapters().forEach(a -> {
            float[] b = a.matrix().b();
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) rng.nextGaussian();
            }
        });
        return lora;
    }
}
