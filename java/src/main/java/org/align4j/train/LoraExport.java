package org.align4j.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;

/**
 * Writes a {@link LoraParams} adapter as the GGUF LoRA file llama.cpp's {@code llama_adapter_lora_init}
 * loads (src/llama-adapter.cpp, llama_adapter_lora_init_impl): {@code general.type = "adapter"},
 * {@code adapter.type = "lora"}, {@code general.architecture} the base's, and
 * {@code adapter.lora.alpha} as FLOAT32 (gguf aborts the process on another type); then each adapter's
 * {@code <base tensor>.lora_a} (ne [I, r]) and {@code .lora_b} (ne [r, O]) in F32. llama.cpp applies
 * the delta as scale B (A x) with scale = adapter scale * alpha / r, the trainer's {@link LoraMatrix}.
 *
 * <p>No row permutation: for arch llama, convert_hf_to_gguf.py permutes the rows of q and k (and the
 * LoRA converter those of B for q and k) from Hugging Face's order to GGUF's, but the trainer works on
 * the GGUF's weights directly, so its A and B are already in GGUF order. The PEFT export
 * ({@link PeftAdapter}, Hugging Face order) un-permutes B's q/k rows. The file appears atomically
 * ({@link GgufWriter}).
 */
public final class LoraExport {
    private LoraExport() {}

    /** Writes {@code adapter} to {@code out}; returns the file size in bytes. */
    public static long write(LoraParams adapter, Path out) {
        List<GgufWriter.Tensor> tensors = adapter.tensors().stream()
                .map(t -> new GgufWriter.Tensor(t.name(), GgmlType.F32, t.dims(), dst -> GgmlQuants.quantize(GgmlType.F32, t.data(), dst)))
                .toList();
        return GgufWriter.write(out, metadata(adapter), tensors);
    }

    /** The adapter file's key-value pairs (a checkpoint of the adapter carries them too). */
    public static SequencedMap<String, GgufValue> metadata(LoraParams adapter) {
        return metadata(adapter.shape().architecture(), adapter.alpha());
    }

    /** The key-value pairs of an adapter with {@code alpha} for a base of {@code architecture}. */
    public static SequencedMap<String, GgufValue> metadata(Architecture architecture, float alpha) {
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
        metadata.put("general.architecture", GgufValue.string(architecture.ggufName()));
        metadata.put("general.type", GgufValue.string("adapter"));
        metadata.put("adapter.type", GgufValue.string("lora"));
        metadata.put("adapter.lora.alpha", GgufValue.float32(alpha));
        return metadata;
    }
}
