package org.align4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.align4j.dpo.SftJob;
import org.align4j.dpo.SftOptions;
import org.align4j.job.TrainerOptions;
import org.align4j.train.LoraConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code align4j sft}: supervised fine-tuning of a GGUF model, full or LoRA, on prompt-completion records
 * or on {@code bon} output's best completions, with the run machinery of {@code dpo} (checkpoints,
 * {@code --resume}, {@code --on-error}). Like {@link DpoCommand} it takes no {@link EngineOptions}: the
 * Java trainer's sequence bound is {@code --max-len}.
 */
@Command(name = "sft", sortOptions = false, description = {
        "Fine-tune a model on completions (their NLL; prompts not scored), write GGUF.",
        "DATA: prompt-completion records (text or chat messages), or bon output, whose",
        "best completion per record is trained on (rejection-sampling fine-tuning).",
        "With --lora-rank (or --lora-init) only a LoRA adapter is trained (the model stays frozen),",
        "and OUT is that adapter. Writes OUT, OUT.metrics.jsonl and a PNG plot beside",
        "it, and checkpoints to OUT.ckpt (every --save-every steps and at the end)",
        "for --resume."})
final class SftCommand implements Callable<Integer>, RunsLlama {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "M.gguf", description = "the model to train (llama architecture; F32, F16, BF16 or Q8_0)")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "DATA.jsonl", description = "prompt-completion records, or bon output")
    Path data;

    @Option(names = "--out", required = true, paramLabel = "M2.gguf", description = "the trained model (with --lora-rank: the adapter, which llama.cpp loads with --lora)")
    Path out;

    @Option(names = "--out-type", paramLabel = "f32|f16", description = "matrix type of OUT (default: f32 if the model's matrices are all F32, else f16)")
    String outType;

    @Option(names = "--min-reward", paramLabel = "R", description = "leave out bon records whose best completion's reward is below R (counted; default: keep all)")
    Double minReward;

    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate (default: 5e-5, Hugging Face's)")
    double lr = SftOptions.DEFAULT_LR;

    @Mixin TrainingOptions training;

    @Mixin LoraTrainingOptions lora;

    @Mixin LoraOutputOptions loraOutputs;

    @Option(names = "--seed", paramLabel = "S", description = "data order, and the adapter's initial A (default: ${DEFAULT-VALUE})")
    long seed = TrainerOptions.DEFAULT_SEED;

    @Mixin TrainingRunOptions run;

    @Override
    public Integer call() {
        SftOptions options;
        try {
            LoraConfig config = lora.config();
            options = run.applyTo(loraOutputs.applyTo(training.applyTo(SftOptions.builder(model, data, out)), config))
                    .learningRate(lr)
                    .outType(outType == null ? null : TrainingOptions.outType(outType))
                    .minReward(minReward)
                    .lora(config)
                    .initialAdapter(lora.initialAdapter())
                    .seed(seed)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        SftJob.Result result = new SftJob(options, err).run();
        err.println(result);
        if (!run.quiet) {
            err.printf(Locale.ROOT, "sft: %.2f s of training on %d thread%s: %s%n", result.seconds(), run.threads,
                    run.threads == 1 ? "" : "s", result.timings().describe(result.seconds()));
            err.println("sft: wrote " + result.out() + ", metrics " + result.metrics()
                    + (result.plot() != null ? ", plot " + result.plot() : "") + ", checkpoint " + result.checkpoint()
                    + (options.peft() != null ? ", PEFT adapter " + options.peft() : "")
                    + (options.merge() != null ? ", merged model " + options.merge() : ""));
        }
        return 0;
    }
}
