package org.align4j.job;

import java.nio.file.Path;
import java.util.Map;
import org.align4j.Align4jException;

/**
 * The checks a resumed training run makes against the checkpoint it continues: the same records (their
 * token fingerprint, {@link TrainingRecords#fingerprint}) and the same settings, by name; total_steps
 * among them, since the learning-rate schedule is laid out over it.
 */
public final class TrainingResume {
    private TrainingResume() {}

    /**
     * @throws Align4jException naming the checkpoint and what differs, and saying to resume with the same data and settings
     */
    public static void check(Path checkpoint, Path data, String fingerprintWas, String fingerprintNow,
                             Map<String, String> settingsWere, Map<String, String> settingsNow) {
        if (!fingerprintWas.equals(fingerprintNow)) {
            throw new Align4jException(checkpoint + " was trained on other records than " + data
                    + " gives now (different records, skips or tokenization): cannot resume it with this data");
        }
        for (Map.Entry<String, String> e : settingsNow.entrySet()) {
            String was = settingsWere.get(e.getKey());
            if (!e.getValue().equals(was)) {
                String what = e.getKey().equals("total_steps")
                        ? " is from a run of " + was + " steps in all (--epochs, --max-steps), and this one has " + e.getValue()
                        : " was trained with " + e.getKey() + " " + was + ", not " + e.getValue();
                throw new Align4jException(checkpoint + what + ": resume with the same settings");
            }
        }
    }
}
