package org.align4j.job;

import org.align4j.train.StepOrder;
import org.align4j.train.AdamW;
import org.align4j.train.LlamaParams;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraParams;
import org.align4j.train.TrainerCheckpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import org.align4j.Align4jException;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufValueType;

/**
 * A training run's state after some optimizer step, enough to go on as if it had never stopped: with the
 * trained tensors (every parameter, or a LoRA run's adapter with its metadata) and AdamW's moments
 * ({@link TrainerCheckpoint}, f32 bit for bit), AdamW's step count, the step reached, the settings and
 * data fingerprint it was trained with, the reference log-probs it used (DPO's; none for SFT), and any
 * other tensors the job trains besides the model (rm's head), f32 bit for bit. The
 * data order needs no saved RNG state: epoch e's order is a function of (seed, e) alone, and the step
 * gives the epoch and the position in it ({@link StepOrder}). Its keys start with the job's name
 * ({@code dpo.step}), so one job does not take another's checkpoint.
 *
 * @param job       {@code dpo}, {@code sft} or {@code rm}
 * @param settings  the run's settings that must not change on resume, by name
 * @param reference (2, N) reference log-prob sums, chosen then rejected; null for reference-free losses and SFT
 * @param extra     the job's other trained tensors by name, read when the checkpoint is written (rm's head); empty for none
 */
public record RunCheckpoint(String job, int step, long optimizerSteps, String dataFingerprint, Map<String, String> settings,
                            double[][] reference, Map<String, float[]> extra) {
    /** The setting a LoRA run has and a full one has not. */
    static final String LORA_RANK = "lora_rank";

    /** A fresh run's state at step 0, with no reference and no extra tensors. */
    public static RunCheckpoint start(String job, String dataFingerprint, Map<String, String> settings) {
        return new RunCheckpoint(job, 0, 0, dataFingerprint, settings, null, Map.of());
    }

    /** This state with DPO's reference log-prob sums, (2, N). */
    public RunCheckpoint withReference(double[][] reference) {
        return new RunCheckpoint(job, step, optimizerSteps, dataFingerprint, settings, reference, extra);
    }

    /** This state with the job's other trained tensors by name. */
    public RunCheckpoint withExtra(Map<String, float[]> extra) {
        return new RunCheckpoint(job, step, optimizerSteps, dataFingerprint, settings, reference, extra);
    }

    /**
     * A checkpoint read back: its state, the trained tensors and AdamW's moments ({@link AdamW#state()}).
     *
     * @param params  a full run's parameters, null for a LoRA run
     * @param adapter a LoRA run's adapter tensors by name, null for a full run
     */
    public record Loaded(RunCheckpoint state, LlamaParams params, Map<String, float[]> adapter, Map<String, float[]> optimizerState) {}

    /** This state at {@code step}, after {@code optimizerSteps} AdamW updates. */
    RunCheckpoint withStep(int step, long optimizerSteps) {
        return new RunCheckpoint(job, step, optimizerSteps, dataFingerprint, settings, reference, extra);
    }

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
        Keys k = new Keys(job);
        SequencedMap<String, GgufValue> info = new LinkedHashMap<>();
        info.put(k.step, GgufValue.uint32(step));
        info.put(k.optimizerSteps, GgufValue.uint64(optimizerSteps));
        info.put(k.fingerprint, GgufValue.string(dataFingerprint));
        settings.forEach((name, v) -> info.put(k.setting + name, GgufValue.string(v)));
        if (reference != null) {
            info.put(k.refChosen, GgufValue.array(GgufValueType.FLOAT64, reference[0].clone()));
            info.put(k.refRejected, GgufValue.array(GgufValueType.FLOAT64, reference[1].clone()));
        }
        extra.forEach((name, v) -> info.put(k.extra + name, GgufValue.array(GgufValueType.FLOAT32, v.clone())));
        return info;
    }

    /**
     * Reads {@code file}, written by a {@code job} run.
     *
     * @throws Align4jException if there is no file, or it is not a checkpoint of a {@code job} run
     */
    public static Loaded read(Path file, String job) {
        if (!Files.isRegularFile(file)) {
            throw new Align4jException("no checkpoint to resume from at " + file);
        }
        Keys k = new Keys(job);
        // A LoRA run's checkpoint holds the adapter, not a model: its settings say so.
        boolean lora = TrainerCheckpoint.info(file, k.setting + LORA_RANK) != null;
        TrainerCheckpoint.State full = lora ? null : TrainerCheckpoint.load(file);
        TrainerCheckpoint.TensorState adapter = lora ? TrainerCheckpoint.loadTensors(file) : null;
        Map<String, GgufValue> info = lora ? adapter.info() : full.info();
        if (!info.containsKey(k.step) || !info.containsKey(k.fingerprint) || !info.containsKey(k.optimizerSteps)) {
            throw new Align4jException(file + " is a trainer checkpoint but not of a " + job.toUpperCase(Locale.ROOT)
                    + " run (no " + k.step + ")");
        }
        Map<String, String> settings = new LinkedHashMap<>();
        Map<String, float[]> extra = new LinkedHashMap<>();
        info.forEach((name, v) -> {
            if (name.startsWith(k.setting)) {
                settings.put(name.substring(k.setting.length()), v.asString());
            } else if (name.startsWith(k.extra)) {
                extra.put(name.substring(k.extra.length()), (float[]) v.value());
            }
        });
        double[][] reference = info.containsKey(k.refChosen)
                ? new double[][] {(double[]) info.get(k.refChosen).value(), (double[]) info.get(k.refRejected).value()}
                : null;
        RunCheckpoint state = new RunCheckpoint(job, Math.toIntExact(info.get(k.step).asLong()),
                info.get(k.optimizerSteps).asLong(), info.get(k.fingerprint).asString(), settings, reference, extra);
        if (!lora) {
            return new Loaded(state, full.params(), null, full.optimizerState());
        }
        Map<String, float[]> tensors = new LinkedHashMap<>();
        adapter.tensors().forEach(t -> tensors.put(t.name(), t.data()));
        return new Loaded(state, null, tensors, adapter.optimizerState());
    }

    /**
     * The step to go on from, checking that this checkpoint (read from {@code file}) is of the data with
     * {@code fingerprint} and of {@code settings}.
     *
     * @param records what the data holds, in words ("pairs"), and the file it came from, for the message
     */
    int resumeStep(Path file, String fingerprint, Map<String, String> settings, String records, Path data) {
        TrainingResume.check(file, data, records, dataFingerprint, fingerprint, this.settings, settings);
        return step;
    }

    // The GGUF keys of a job's checkpoint: dpo.step, dpo.setting.beta, rm.tensor.reward.head, ...
    private record Keys(String step, String optimizerSteps, String fingerprint, String setting, String refChosen,
                        String refRejected, String extra) {
        Keys(String job) {
            this(job + ".step", job + ".optimizer_steps", job + ".data_sha256", job + ".setting.",
                    job + ".reference.chosen_logps", job + ".reference.rejected_logps", job + ".tensor.");
        }
    }
}
