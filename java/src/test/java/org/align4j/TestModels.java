package org.align4j;

import java.nio.file.Path;
import java.util.Locale;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;

/** Synthetic models for tests, written into a test's temp folder. */
public final class TestModels {
    private TestModels() {}

    /** The {@code tiny} preset in {@code type} with weights from {@code seed}, as {@code dir/tiny-TYPE-SEED.gguf}. */
    public static Path tiny(Path dir, GgmlType type, long seed) {
        SynthPreset tiny = SynthPreset.named("tiny");
        Path out = dir.resolve("tiny-" + type.name().toLowerCase(Locale.ROOT) + "-" + seed + ".gguf");
        SyntheticLlama.write(out, "tiny", tiny.shape(), VocabFiles.named(tiny.vocab()), type, seed);
        return out;
    }
}
