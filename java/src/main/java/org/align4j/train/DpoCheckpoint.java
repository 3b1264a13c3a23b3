package org.align4j.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufValueType;

/**
 * A DPO run's state after some optimizer step, enough to go on as if it had never stopped: the policy's
 * parameters and AdamW's moments (f32, exact), AdamW's step count, the step reached, the settings and
 * data fingerprint it was trained with, and the reference log-probs it used. The data order needs no
 * saved RNG state: epoch e's order is a function of (seed, e) alone, and the step gives the epoch and the
 * position in it.
 *
 * <p>On disk: one GGUF, the parameters under their names, the moments as {@code <param>.exp_avg} and
 * {@code <param>.exp_avg_sq} (torch's state keys), the rest as {@code align4j.checkpoint.*} keys. Written
 * to a temporary file and renamed over the old one, so a crash leaves the previous checkpoint whole.
 *
 * @param settings  the run's settings that must not change on resume, by name (see {@link DpoJob})
 * @param reference (2, N) reference log-prob sums, chosen then rejected; null for reference-free losses
 */
record DpoCheckpoint(int step, long optimizerSteps, String dataFingerprint, Map<String, String> settings,
                     double[][] reference) {
    private static final String P = ParamsGguf.CHECKPOINT_PREFIX;
    private static final String STEP = P + "step";
    private static final String OPTIMIZER_STEPS = P + "optimizer.step";
    private static final String FINGERPRINT = P + "data.sha256";
    private static final String SETTING = P + "setting.";
    private static final String REF_CHOSEN = P + "reference.chosen_logps";
    private static final String REF_REJECTED = P + "reference.rejected_logps";

    /** A checkpoint read back: its state, the parameters and the optimizer moments. */
    record Loaded(DpoCheckpoint state, LlamaParams params, Map<String, float[]> optimizerState) {}

    void write(Path file, LlamaParams params, AdamW optimizer) {
        SequencedMap<String, GgufValue> keys = new LinkedHashMap<>();
        keys.put(STEP, GgufValue.uint32(step));
        keys.put(OPTIMIZER_STEPS, GgufValue.uint64(optimizerSteps));
        keys.put(FINGERPRINT, GgufValue.string(dataFingerprint));
        settings.forEach((k, v) -> keys.put(SETTING + k, GgufValue.string(v)));
        if (reference != null) {
            keys.put(REF_CHOSEN, GgufValue.array(GgufValueType.FLOAT64, reference[0].clone()));
            keys.put(REF_REJECTED, GgufValue.array(GgufValueType.FLOAT64, reference[1].clone()));
        }
        ParamsGguf.writeCheckpoint(params, optimizer.state(), keys, file);
    }

    static Loaded read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new Align4jException("no checkpoint to resume from at " + file);
        }
        try (GgufFile f = GgufFile.open(file)) {
            if (!f.has(STEP) || !f.has(FINGERPRINT)) {
                throw new Align4jException(file + " is not a DPO checkpoint (no " + STEP + ")");
            }
            LlamaParams params = LlamaParams.read(f, DpoCheckpoint::isOptimizerState);
            Map<String, float[]> optimizer = new LinkedHashMap<>();
            for (GgufTensorInfo t : f.tensors()) {
                if (isOptimizerState(t.name())) {
                    float[] x = new float[Math.toIntExact(t.elementCount())];
                    GgmlQuants.dequantize(t.type(), f.tensorData(t.name()), x);
                    optimizer.put(t.name(), x);
                }
            }
            Map<String, String> settings = new LinkedHashMap<>();
            f.metadata().forEach((k, v) -> {
                if (k.startsWith(SETTING)) {
                    settings.put(k.substring(SETTING.length()), v.asString());
                }
            });
            double[][] reference = f.has(REF_CHOSEN)
                    ? new double[][] {(double[]) f.value(REF_CHOSEN).orElseThrow().value(), (double[]) f.value(REF_REJECTED).orElseThrow().value()}
                    : null;
            DpoCheckpoint state = new DpoCheckpoint(Math.toIntExact(f.integer(STEP)), f.integer(OPTIMIZER_STEPS),
                    f.string(FINGERPRINT), settings, reference);
            return new Loaded(state, params, optimizer);
        }
    }

    private static boolean isOptimizerState(String tensor) {
        return tensor.endsWith(".exp_avg") || tensor.endsWith(".exp_avg_sq");
    }
}
