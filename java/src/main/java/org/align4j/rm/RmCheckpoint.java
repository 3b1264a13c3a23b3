package org.align4j.rm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import org.align4j.Align4jException;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufValueType;
import org.align4j.gguf.RewardHead;
import org.align4j.train.AdamW;
import org.align4j.train.LlamaParams;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraParams;
import org.align4j.train.TrainerCheckpoint;

/**
 * A reward model run's state after some optimizer step, enough to go on as if it had never stopped: the
 * trained tensors (every parameter, or a LoRA run's adapter), the head's w and b (f32, bit for bit), AdamW's
 * moments and step count ({@link TrainerCheckpoint}), the step reached, and the settings and data
 * fingerprint it was trained with. The data order needs no saved state: it is a function of (seed, step).
 *
 * @param settings the run's settings that must not change on resume, by name (see {@link RmJob})
 */
record RmCheckpoint(int step, long optimizerSteps, String dataFingerprint, Map<String, String> settings, RewardHead head) {
    private static final String STEP = "rm.step";
    private static final String OPTIMIZER_STEPS = "rm.optimizer_steps";
    private static final String FINGERPRINT = "rm.data_sha256";
    private static final String HEAD = "rm.head";
    private static final String BIAS = "rm.bias";
    private static final String SETTING = "rm.setting.";
    /** The setting a LoRA run has and a full one has not. */
    static final String LORA_RANK = "lora_rank";

    /**
     * A checkpoint read back.
     *
     * @param params  a full run's parameters, null for a LoRA run
     * @param adapter a LoRA run's adapter tensors by name, null for a full run
     */
    record Loaded(RmCheckpoint state, LlamaParams params, Map<String, float[]> adapter, Map<String, float[]> optimizerState) {}

    void write(Path file, LlamaParams params, AdamW optimizer) {
        TrainerCheckpoint.save(file, new TrainerCheckpoint.State(params, new LinkedHashMap<>(optimizer.state()), info()));
    }

    void write(Path file, LoraParams adapter, AdamW optimizer) {
        TrainerCheckpoint.save(file, new TrainerCheckpoint.TensorState(LoraExport.metadata(adapter), adapter.tensors(),
                new LinkedHashMap<>(optimizer.state()), info()));
    }

    private SequencedMap<String, GgufValue> info() {
        SequencedMap<String, GgufValue> info = new LinkedHashMap<>();
        info.put(STEP, GgufValue.uint32(step));
        info.put(OPTIMIZER_STEPS, GgufValue.uint64(optimizerSteps));
        info.put(FINGERPRINT, GgufValue.string(dataFingerprint));
        info.put(HEAD, GgufValue.array(GgufValueType.FLOAT32, head.weights().clone()));
        info.put(BIAS, GgufValue.float32(head.bias()));
        settings.forEach((k, v) -> info.put(SETTING + k, GgufValue.string(v)));
        return info;
    }

    static Loaded read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new Align4jException("no checkpoint to resume from at " + file);
        }
        boolean lora = TrainerCheckpoint.info(file, SETTING + LORA_RANK) != null;
        TrainerCheckpoint.State full = lora ? null : TrainerCheckpoint.load(file);
        TrainerCheckpoint.TensorState adapter = lora ? TrainerCheckpoint.loadTensors(file) : null;
        Map<String, GgufValue> info = lora ? adapter.info() : full.info();
        for (String key : new String[] {STEP, OPTIMIZER_STEPS, FINGERPRINT, HEAD, BIAS}) {
            if (!info.containsKey(key)) {
                throw new Align4jException(file + " is a trainer checkpoint but not of a reward model run (no " + key + ")");
            }
        }
        Map<String, String> settings = new LinkedHashMap<>();
        info.forEach((k, v) -> {
            if (k.startsWith(SETTING)) {
                settings.put(k.substring(SETTING.length()), v.asString());
            }
        });
        RewardHead head = new RewardHead((float[]) info.get(HEAD).value(), (Float) info.get(BIAS).value());
        RmCheckpoint state = new RmCheckpoint(Math.toIntExact(info.get(STEP).asLong()), info.get(OPTIMIZER_STEPS).asLong(),
                info.get(FINGERPRINT).asString(), settings, head);
        if (!lora) {
            return new Loaded(state, full.params(), null, full.optimizerState());
        }
        Map<String, float[]> tensors = new LinkedHashMap<>();
        adapter.tensors().forEach(t -> tensors.put(t.name(), t.data()));
        return new Loaded(state, null, tensors, adapter.optimizerState());
    }
}
