package org.align4j.cli;

import java.nio.file.Path;
import org.align4j.job.TrainerOptions;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraMerge;
import picocli.CommandLine.Option;

/** {@code --peft}, {@code --merge}, {@code --merge-type}: what a LoRA run writes besides its adapter. */
final class LoraOutputOptions {
    @Option(names = "--peft", paramLabel = "DIR", description = "with --lora-rank: also write the adapter (a loop's last) in PEFT's format"
            + " (adapter_config.json, adapter_model.safetensors) into DIR")
    Path peft;

    @Option(names = "--merge", paramLabel = "M2.gguf", description = "with --lora-rank: also write the policy with the adapter (a loop's last) merged in"
            + " (as llama-export-lora: merged matrices F32 if they were, else F16; other tensors as they are)")
    Path merge;

    @Option(names = "--merge-type", paramLabel = "TYPE", description = "with --merge: f16 (as llama-export-lora), f32 (merged matrices in f32),"
            + " or bf16, q8_0, q4_0, q4_k_m, q5_k_m, q6_k: the f16 merge quantized by llama.cpp (llama_model_quantize; tensors already of"
            + " the type's choice are copied, so the base's own type re-quantizes only the merged matrices) (default: f16)")
    String mergeType;

    /**
     * Sets the outputs on {@code options}; {@code lora} is the run's adapter settings, null for full fine-tuning.
     *
     * @throws IllegalArgumentException naming the option that does not apply or has a bad value
     */
    <B extends TrainerOptions.Builder<B>> B applyTo(B options, LoraConfig lora) {
        if (lora == null && peft != null) {
            throw new IllegalArgumentException("--peft needs --lora-rank");
        }
        if (lora == null && merge != null) {
            throw new IllegalArgumentException("--merge needs --lora-rank");
        }
        return options.peft(peft).merge(merge).mergeType(mergeType());
    }

    private LoraMerge.Type mergeType() {
        if (mergeType == null) {
            return LoraMerge.Type.F16;
        }
        if (merge == null) {
            throw new IllegalArgumentException("--merge-type needs --merge");
        }
        return mergeType(mergeType);
    }

    /** {@code --merge-type}'s value by name. */
    static LoraMerge.Type mergeType(String name) {
        try {
            return LoraMerge.Type.named(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--merge-type: " + e.getMessage(), e);
        }
    }
}
