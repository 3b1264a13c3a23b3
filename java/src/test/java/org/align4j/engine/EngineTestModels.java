package org.align4j.engine;

import java.nio.file.Path;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;

/** Synthetic models for engine tests, written into a test's temp folder. */
final class EngineTestModels {
    private EngineTestModels() {}

    static Path tiny(Path dir, GgmlType type, long seed) {
        SynthPreset tiny = SynthPreset.named("tiny");
        Path out = dir.resolve("tiny-" + type.name().toLowerCase() + "-" + seed + ".gguf");
        SyntheticLlama.write(out, "tiny", tiny.shape(), VocabFiles.named(tiny.vocab()), type, seed);
        return out;
    }
}
