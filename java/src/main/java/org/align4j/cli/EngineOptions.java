package org.align4j.cli;

import java.nio.file.Path;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Options every job that runs a model shares (DESIGN.md: common options). */
final class EngineOptions {
    @Spec(Spec.Target.MIXEE) CommandSpec spec;

    int threads = ContextOptions.defaultThreads();

    /** Checked here, as it is parsed, because every command that runs llama.cpp takes it from here. */
    @Option(names = "--threads", paramLabel = "N",
            description = "CPU threads, 1 to " + ContextOptions.MAX_THREADS + " (default: all cores)")
    void threads(int n) {
        try {
            ContextOptions.checkThreads(n, "--threads");
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        threads = n;
    }

    @Option(names = "--ctx", paramLabel = "TOKENS", description = "longest prompt + completion, in tokens (default: ${DEFAULT-VALUE})")
    int ctx = 2048;

    @Option(names = "--batch-tokens", paramLabel = "N", description = "tokens per llama_decode (default: ${DEFAULT-VALUE})")
    int batchTokens = 512;

    @Option(names = "--gpu-layers", paramLabel = "N", description = "layers to offload to a GPU; -1 = all (default: ${DEFAULT-VALUE})")
    int gpuLayers = 0;

    @Option(names = "--quiet", description = "no progress on stderr (the summary still prints)")
    boolean quiet;

    /** Loads a model for inference with {@code --gpu-layers}; the caller closes it. */
    Model load(Path model) {
        return Model.load(model, ModelOptions.inference(gpuLayers));
    }

    /** As {@link #load}, or null for a null path (an optional model). */
    Model loadIfGiven(Path model) {
        return model == null ? null : load(model);
    }
}
