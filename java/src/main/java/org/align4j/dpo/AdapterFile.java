package org.align4j.dpo;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.train.LlamaParams;
import org.align4j.train.LoraParams;

/**
 * Reads a LoRA adapter GGUF (as {@link org.align4j.train.LoraExport} writes it) into a {@link LoraParams}
 * of the same settings, so that a run continues training from it ({@link DpoOptions#initialAdapter()}).
 */
final class AdapterFile {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private AdapterFile() {}

    /**
     * Sets {@code lora}'s tensors to the file's.
     *
     * @throws Align4jException naming the file if it is not a LoRA adapter of {@code lora}'s architecture,
     *                          alpha, targets and shapes
     */
    static void readInto(LoraParams lora, Path file) {
        try (GgufFile gguf = GgufFile.open(file)) {
            String arch = lora.shape().architecture().ggufName();
            if (!"adapter".equals(text(gguf, "general.type")) || !"lora".equals(text(gguf, "adapter.type"))) {
                throw new Align4jException(file + ": not a LoRA adapter (general.type " + text(gguf, "general.type")
                        + ", adapter.type " + text(gguf, "adapter.type") + ")");
            }
            if (!arch.equals(text(gguf, "general.architecture"))) {
                throw new Align4jException(file + ": an adapter for architecture " + text(gguf, "general.architecture")
                        + ", and the base is " + arch);
            }
            if (!gguf.has("adapter.lora.alpha") || (float) gguf.number("adapter.lora.alpha") != lora.alpha()) {
                throw new Align4jException(file + ": LoRA alpha " + (gguf.has("adapter.lora.alpha") ? gguf.number("adapter.lora.alpha") : "missing")
                        + ", and this run's is " + lora.alpha() + ": continue with the same --lora-alpha");
            }
            Map<String, GgufTensorInfo> infos = gguf.tensors().stream().collect(Collectors.toMap(GgufTensorInfo::name, Function.identity()));
            for (LlamaParams.Tensor t : lora.tensors()) {
                GgufTensorInfo info = infos.remove(t.name());
                if (info == null) {
                    throw new Align4jException(file + ": no tensor " + t.name() + ": continue with the same --lora-targets");
                }
                if (info.type() != GgmlType.F32 || !Arrays.equals(info.dims(), t.dims())) {
                    throw new Align4jException(file + ": " + t.name() + " is " + info.type() + " " + Arrays.toString(info.dims())
                            + ", not F32 " + Arrays.toString(t.dims()) + ": continue with the same --lora-rank over the same base");
                }
            }
            if (!infos.isEmpty()) {
                throw new Align4jException(file + ": tensors this run does not train (" + infos.keySet().iterator().next()
                        + ", ...): continue with the same --lora-targets");
            }
            lora.set(name -> gguf.tensorData(name).toArray(F32_LE));
        }
    }

    private static String text(GgufFile gguf, String key) {
        return gguf.has(key) ? gguf.string(key) : null;
    }
}
