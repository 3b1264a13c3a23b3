package org.align4j.dpo;

import org.align4j.train.AdamW;
import org.align4j.train.LlamaParams;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraParams;
import org.align4j.train.TrainerCheckpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import org.align4j.Align4jException;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufValueType;

/**
 * A DPO run's state after some optimizer step, enough to go on as if it had never stopped: with the
 * trained tensors (every parameter, or a LoRA run's adapter with its metadata) and AdamW's moments
 * ({@link TrainerCheckpoint}, f32 bit for bit), AdamW's step count, the
 * step reached, the settings and data fingerprint it was trained with, and the reference log-probs it
 * used. The data order needs no saved RNG state: epoch e's order is a function of (seed, e) alone, and
 * the step gives the epoch and the position in it.
 *
 * @param settings  the run's settings that must not change on resume, by name (see {@link DpoJob})
 * @param reference (2, N) reference log-prob sums, chosen then rejected; null for reference-free losses
 */
record DpoCheckpoint(int step, long optimizerSteps, String dataFingerprint, Map<String, String> settings,
                     double[][] reference) {
    private static final String STEP = "dpo.step";
    private static final String OPTIMIZER_STEPS = "dpo.optimizer_steps";
    private static final String FINGERPRINT = "dpo.data_sha256";
    private static final String SETTING = "dpo.setting.";
    /** The setting a LoRA run has and a full one has not. */
    static final String LORA_RANK = "lora_rank";
    private static final String REF_CHOSEN = "dpo.reference.chosen_logps";
    private static final String REF_REJECTED = "dpo.reference.rejected_logps";

    /**
     * A checkpoint read back: its state, the trained tensors and AdamW's moments ({@link AdamW#state()}).
     *
     * @param params  a full run's parameters, null for a LoRA run
     * @param adapter a LoRA run's adapter tensors by name, null for a full run
     */
    record Loaded(DpoCheckpoint state, LlamaParams params, Map<String, float[]> adapter, Map<String, float[]> optimizerState) {}

    /** Writes the state with {@code params} and {@code optimizer}'s moments, replacing {@code file} atomically. */
    void write(Path file, LlamaParams params, AdamW optimizer) {
        TrainerCheckpoint.save(file, new TrainerCheckpoint.State(params, new LinkedHashMap<>(optimizer.state()), info()));
    }

    /** Writes the state with a LoRA run's {@code adapter} and {@code optimizer}'s moments, replacing {@code file} atomically. */
    void write(Path file, LoraParams adapter, AdamW optimizer) {
        TrainerCheckpoint.save(file, new TrainerCheckpoint.TensorState(LoraExport.metadata(adapter), adapter.tensors(),
                new LinkedHashMap<>(optimizer.state()), info()));
    }

    private SequencedMap<String, GgufValue> info() {
        SequencedMap<String, GgufValue> info = new LinkedHashMap<>();
        info.put(STEP, GgufValue.uint32(step));
        info.put(OPTIMIZER_STEPS, GgufValue.uint64(optimizerSteps));
        info.put(FINGERPRINT, GgufValue.string(dataFingerprint));
        settings.forEach((k, v) -> info.put(SETTING + k, GgufValue.string(v)));
        if (reference != null) {
            info.put(REF_CHOSEN, GgufValue.array(GgufValueType.FLOAT64, reference[0].clone()));
            info.put(REF_REJECTED, GgufValue.array(GgufValueType.FLOAT64, reference[1].clone()));
        }
        return info;
    }

    static Loaded read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new Align4jException("no checkpoint to resume from at " + file);
        }
        // A LoRA run's checkpoint holds the adapter, not a model: its settings say so.
        boolean lora = TrainerCheckpoint.info(file, SETTING + LORA_RANK) != null;
        TrainerCheckpoint.State full = lora ? null : TrainerCheckpoint.load(file);
        TrainerCheckpoint.TensorState adapter = lora ? TrainerCheckpoint.loadTensors(file) : null;
        Map<String, GgufValue> info = lora ? adapter.info() : full.info();
        if (!info.containsKey(STEP) || !info.containsKey(FINGERPRINT) || !info.containsKey(OPTIMIZER_STEPS)) {
            throw new Align4jException(file + " is a trainer checkpoint but not of a DPO run (no " + STEP + ")");
        }
        Map<String, String> settings = new LinkedHashMap<>();
        info.forEach((k, v) -> {
            if (k.startsWith(SETTING)) {
                settings.put(k.substring(SETTING.length()), v.asString());
            }
        });
        double[][] reference = info.containsKey(REF_CHOSEN)
                ? new double[][] {(double[]) info.get(REF_CHOSEN).value(), (double[]) info.get(REF_REJECTED).value()}
                : null;
        DpoCheckpoint state = new DpoCheckpoint(Math.toIntExact(info.get(STEP).asLong()), info.get(OPTIMIZER_STEPS).asLong(),
                info.get(FINGERPRINT).asString(), settings, reference);
        if (!lora) {
            return new Loaded(state, full.params(), null, full.optimizerState());
        }
        Map<String, float[]> tensors = new LinkedHashMap<>();
        adapter.tensors().forEach(t -> tensors.put(t.name(), t.data()));
        return new Loaded(state, null, tensors, adapter.optimizerState());
    }
}
