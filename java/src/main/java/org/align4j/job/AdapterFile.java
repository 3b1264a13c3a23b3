package org.align4j.job;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.train.LlamaParams;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraParams;
import org.align4j.train.PeftAdapter;

/**
 * Reads a LoRA adapter to continue training from ({@link TrainerOptions#initialAdapter()}): a GGUF adapter as
 * {@link org.align4j.train.LoraExport} writes it, or a PEFT directory ({@link PeftAdapter}, whose B rows
 * of q and k are permuted into GGUF order for llama).
 */
public final class AdapterFile {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Pattern BLOCK_TENSOR = Pattern.compile("blk\\.(\\d+)\\.(.+)\\.lora_a");

    private AdapterFile() {}

    /**
     * The rank, alpha and targets of the adapter {@code fileOrDir}: a GGUF LoRA adapter or a PEFT directory.
     *
     * @throws Align4jException naming the file if it is not a LoRA adapter of the seven targets (a PEFT
     *                          config also names the field it cannot take)
     */
    public static LoraConfig settings(Path fileOrDir) {
        if (Files.isDirectory(fileOrDir)) {
            return PeftAdapter.settings(fileOrDir);
        }
        try (GgufFile gguf = GgufFile.open(fileOrDir)) {
            checkType(gguf, fileOrDir);
            if (!gguf.has("adapter.lora.alpha")) {
                throw new Align4jException(fileOrDir + ": no adapter.lora.alpha");
            }
            int rank = -1;
            Set<LoraParams.Target> targets = EnumSet.noneOf(LoraParams.Target.class);
            for (GgufTensorInfo t : gguf.tensors()) {
                if (!t.name().endsWith(".lora_a")) {
                    continue;
                }
                LoraParams.Target target = target(t.name());
                if (target == null) {
                    throw new Align4jException(fileOrDir + ": tensor " + t.name() + " adapts a matrix outside the seven targets"
                            + " (q,k,v,o,gate,up,down of each block), which training does not continue");
                }
                if (t.dims().length != 2 || (rank != -1 && t.dims()[1] != rank)) {
                    throw new Align4jException(fileOrDir + ": tensor " + t.name() + " is " + Arrays.toString(t.dims())
                            + ", not [in, r] of the adapter's one rank " + rank);
                }
                rank = Math.toIntExact(t.dims()[1]);
                targets.add(target);
            }
            if (targets.isEmpty()) {
                throw new Align4jException(fileOrDir + ": no LoRA tensors");
            }
            return new LoraConfig(rank, (float) gguf.number("adapter.lora.alpha"), targets);
        }
    }

    // The target of "blk.N.attn_q.weight.lora_a", or null for a tensor of no block's seven matrices.
    private static LoraParams.Target target(String loraA) {
        Matcher m = BLOCK_TENSOR.matcher(loraA);
        if (m.matches()) {
            int layer = Integer.parseInt(m.group(1));
            for (LoraParams.Target t : LoraParams.Target.values()) {
                if (t.kind.nameIn(layer).equals(loraA.substring(0, loraA.length() - ".lora_a".length()))) {
                    return t;
                }
            }
        }
        return null;
    }

    /**
     * Sets {@code lora}'s tensors to those of the adapter {@code fileOrDir}, a GGUF LoRA adapter or a PEFT directory.
     *
     * @throws Align4jException naming the file if it is not a LoRA adapter of {@code lora}'s architecture,
     *                          alpha, targets and shapes
     */
    public static void readInto(LoraParams lora, Path fileOrDir) {
        if (Files.isDirectory(fileOrDir)) {
            LoraConfig settings = PeftAdapter.settings(fileOrDir);
            if (!settings.equals(settingsOf(lora))) {
                throw new Align4jException(fileOrDir + ": " + settings + ", and this run trains " + settingsOf(lora));
            }
            Map<String, float[]> tensors = PeftAdapter.ggufTensors(fileOrDir, lora.shape());
            lora.set(tensors::get);
            return;
        }
        try (GgufFile gguf = GgufFile.open(fileOrDir)) {
            String arch = lora.shape().architecture().ggufName();
            checkType(gguf, fileOrDir);
            if (!arch.equals(text(gguf, "general.architecture"))) {
                throw new Align4jException(fileOrDir + ": an adapter for architecture " + text(gguf, "general.architecture")
                        + ", and the base is " + arch);
            }
            if (!gguf.has("adapter.lora.alpha") || (float) gguf.number("adapter.lora.alpha") != lora.alpha()) {
                throw new Align4jException(fileOrDir + ": LoRA alpha " + (gguf.has("adapter.lora.alpha") ? gguf.number("adapter.lora.alpha") : "missing")
                        + ", and this run's is " + lora.alpha());
            }
            Map<String, GgufTensorInfo> infos = gguf.tensors().stream().collect(Collectors.toMap(GgufTensorInfo::name, Function.identity()));
            for (LlamaParams.Tensor t : lora.tensors()) {
                GgufTensorInfo info = infos.remove(t.name());
                if (info == null) {
                    throw new Align4jException(fileOrDir + ": no tensor " + t.name() + ", and this run trains " + settingsOf(lora));
                }
                if (info.type() != GgmlType.F32 || !Arrays.equals(info.dims(), t.dims())) {
                    throw new Align4jException(fileOrDir + ": " + t.name() + " is " + info.type() + " " + Arrays.toString(info.dims())
                            + ", not F32 " + Arrays.toString(t.dims()) + " (rank " + lora.rank() + " over this base): an adapter of another rank or base");
                }
            }
            if (!infos.isEmpty()) {
                String name = infos.keySet().stream().sorted().findFirst().orElseThrow();
                throw new Align4jException(fileOrDir + ": tensor " + name + " adapts " + name.replaceFirst("\\.lora_[ab]$", "")
                        + ", which the base (" + lora.shape().layers() + " blocks) does not have or this run does not train");
            }
            lora.set(name -> gguf.tensorData(name).toArray(F32_LE));
        }
    }

    private static LoraConfig settingsOf(LoraParams lora) {
        Set<LoraParams.Target> targets = EnumSet.noneOf(LoraParams.Target.class);
        for (LoraParams.Adapter a : lora.adapters()) {
            Arrays.stream(LoraParams.Target.values()).filter(t -> t.kind == a.kind()).forEach(targets::add);
        }
        return new LoraConfig(lora.rank(), lora.alpha(), targets);
    }

    private static void checkType(GgufFile gguf, Path file) {
        if (!"adapter".equals(text(gguf, "general.type")) || !"lora".equals(text(gguf, "adapter.type"))) {
            throw new Align4jException(file + ": not a LoRA adapter (general.type " + text(gguf, "general.type")
                    + ", adapter.type " + text(gguf, "adapter.type") + ")");
        }
    }

    private static String text(GgufFile gguf, String key) {
        return gguf.has(key) ? gguf.string(key) : null;
    }
}
