package org.align4j.job;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.align4j.Align4jException;

/**
 * The checks a resumed training run makes against the checkpoint it continues: the same records (their
 * token fingerprint, {@link TrainingRecords#fingerprint}) and the same settings, by name, both ways (a
 * setting only one of the runs has differs too); total_steps among them, since the learning-rate schedule
 * is laid out over it.
 */
public final class TrainingResume {
    private TrainingResume() {}

    /**
     * @param records what the data holds, in words ("pairs"), for the message
     * @throws Align4jException naming the checkpoint and what differs, and saying to resume with the same data and settings
     */
    public static void check(Path checkpoint, Path data, String records, String fingerprintWas, String fingerprintNow,
                             Map<String, String> settingsWere, Map<String, String> settingsNow) {
        if (!fingerprintWas.equals(fingerprintNow)) {
            throw new Align4jException(checkpoint + " was trained on other " + records + " than " + data
                    + " gives now (different records, skips or tokenization): cannot resume it with this data");
        }
        Set<String> keys = new LinkedHashSet<>(settingsNow.keySet());
        keys.addAll(settingsWere.keySet());
        for (String key : keys) {
            String was = settingsWere.getOrDefault(key, "(none)");
            String now = settingsNow.getOrDefault(key, "(none)");
            if (!now.equals(was)) {
                String what = key.equals("total_steps")
                        ? " is from a run of " + was + " steps in all (--epochs, --max-steps), and this one has " + now
                        : " was trained with " + key + " " + was + ", not " + now;
                throw new Align4jException(checkpoint + what + ": resume with the same settings");
            }
        }
    }
}
