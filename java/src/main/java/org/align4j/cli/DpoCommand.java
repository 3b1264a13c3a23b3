package org.align4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.align4j.dpo.DpoJob;
import org.align4j.dpo.DpoOptions;
import org.align4j.train.LoraConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code align4j dpo}: preference training of a GGUF policy. The runtime options are declared here
 * rather than through {@link EngineOptions}: training runs in the Java trainer, whose sequence bound is
 * {@code --max-len} (TRL's max_length, default the model's context), so {@code --ctx} and
 * {@code --batch-tokens} of the llama.cpp jobs would mean nothing here.
 */
@Command(name = "dpo", sortOptions = false, description = {
        "Train a policy on preference pairs with DPO or a variant and write it as GGUF.",
        "Reference log-probs: the data's ref_chosen_logps/ref_rejected_logps when every pair has them,",
        "else computed once with llama.cpp on --ref, or on the initial policy without one.",
        "With --lora-rank (or --lora-init) only a LoRA adapter is trained (the policy stays frozen, the reference",
        "is the base) and OUT is that adapter.",
        "Writes OUT, OUT.metrics.jsonl (TRL metric names per step) and a PNG plot beside it, and",
        "checkpoints to OUT.ckpt (every --save-every steps and at the end) for --resume."})
final class DpoCommand implements Callable<Integer>, RunsLlama {
    @Spec CommandSpec spec;

    @Option(names = "--policy", required = true, paramLabel = "M.gguf", description = "the model to train (llama architecture; F32, F16, BF16 or Q8_0)")
    Path policy;

    @Option(names = "--ref", paramLabel = "R.gguf", description = "reference model (same vocabulary); default: the initial policy")
    Path reference;

    @Option(names = "--data", required = true, paramLabel = "PAIRS.jsonl", description = "preference records: prompt, chosen, rejected (text or chat messages)")
    Path data;

    @Option(names = "--out", required = true, paramLabel = "M2.gguf", description = "the trained model (with --lora-rank: the adapter, which llama.cpp loads with --lora)")
    Path out;

    @Option(names = "--out-type", paramLabel = "f32|f16", description = "matrix type of OUT (default: f32 if the policy's matrices are all F32, else f16)")
    String outType;

    @Mixin DpoTrainingOptions training;

    @Mixin LoraTrainingOptions lora;

    @Mixin LoraOutputOptions loraOutputs;

    @Option(names = "--seed", paramLabel = "S", description = "data order (default: ${DEFAULT-VALUE})")
    long seed = DpoOptions.DEFAULT_SEED;

    @Mixin TrainingRunOptions run;

    @Option(names = "--gpu-layers", paramLabel = "N", description = "layers llama.cpp offloads for the reference pass; -1 = all (default: ${DEFAULT-VALUE})")
    int gpuLayers;

    @Override
    public Integer call() {
        DpoOptions options;
        try {
            LoraConfig config = lora();
            options = run.applyTo(loraOutputs.applyTo(training.applyTo(DpoOptions.builder(policy, data, out)), config))
                    .reference(reference)
                    .outType(outType == null ? null : TrainingOptions.outType(outType))
                    .seed(seed)
                    .gpuLayers(gpuLayers)
                    .lora(config)
                    .initialAdapter(lora.initialAdapter())
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        DpoJob.Result result = new DpoJob(options, err).run();
        err.println(result);
        if (!run.quiet) {
            err.printf(Locale.ROOT, "dpo: %.2f s of training on %d thread%s: %s%n", result.seconds(), run.threads,
                    run.threads == 1 ? "" : "s", result.timings().describe(result.seconds()));
            err.println("dpo: wrote " + result.out() + ", metrics " + result.metrics()
                    + (result.plot() != null ? ", plot " + result.plot() : "") + ", checkpoint " + result.checkpoint()
                    + (options.merge() != null ? ", merged model " + options.merge() : ""));
        }
        return 0;
    }

    // The adapter's settings, or null; each bad value is a message naming its option.
    private LoraConfig lora() {
        LoraConfig config = lora.config();
        if (config != null && outType != null) {
            throw new IllegalArgumentException("--out-type does not apply with --lora-rank: OUT is the adapter, in f32");
        }
        return config;
    }
}
