package org.align4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.align4j.job.TrainerOptions;
import org.align4j.rm.RmJob;
import org.align4j.rm.RmOptions;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraMerge;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code align4j rm train}: a reward model from a base GGUF and preference pairs, in the Java trainer as {@code dpo}. */
@Command(name = "train", sortOptions = false, description = {
        "Train a reward model on preference pairs and write it as an RM file: a GGUF llama.cpp loads as the",
        "base architecture, with a scalar head (align4j.reward.head, align4j.reward.bias) on the final hidden",
        "state at the EOS appended to prompt + response. Loss: -log sigmoid(r_chosen - r_rejected - margin)",
        "(margin: the record's optional \"margin\" field) + --lm-coef x the chosen response's NLL per token.",
        "The head starts as a seeded normal of std 1/sqrt(hidden + 1). With --lora-rank only a LoRA adapter",
        "(and the head) is trained, and OUT is the base merged with the adapter, plus the head.",
        "Writes OUT, OUT.metrics.jsonl (loss, accuracy, margin per step) and a PNG plot beside it, and",
        "checkpoints to OUT.ckpt (every --save-every steps and at the end) for --resume."})
final class RmTrainCommand implements Callable<Integer>, RunsLlama {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "BASE.gguf", description = "the base model (llama architecture; F32, F16, BF16 or Q8_0)")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "PAIRS.jsonl", description = "preference records: prompt, chosen, rejected (text or chat messages), optional margin")
    Path data;

    @Option(names = "--out", required = true, paramLabel = "RM.gguf", description = "the reward model")
    Path out;

    @Option(names = "--out-type", paramLabel = "f32|f16", description = "matrix type of OUT (default: f32 if the model's matrices are all F32, else f16)")
    String outType;

    @Option(names = "--lm-coef", paramLabel = "C", description = "add C times the chosen response's NLL per token (default: 0, none)")
    double lmCoef;

    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate (default: 1e-5)")
    double lr = RmOptions.DEFAULT_LR;

    @Mixin TrainingOptions optimizer;

    @Mixin LoraTrainingOptions lora;

    @Option(names = "--merge-type", paramLabel = "TYPE", description = "with --lora-rank: the type OUT, the base merged with the adapter,"
            + " is written as, as dpo's --merge-type (default: f16, as llama-export-lora)")
    String mergeType;

    @Option(names = "--seed", paramLabel = "S", description = "data order and the head's initial weights (default: ${DEFAULT-VALUE})")
    long seed = TrainerOptions.DEFAULT_SEED;

    @Mixin TrainingRunOptions run;

    @Override
    public Integer call() {
        RmOptions options;
        try {
            LoraConfig adapter = lora.config();
            if (adapter != null && outType != null) {
                throw new IllegalArgumentException("--out-type does not apply with --lora-rank: OUT is the base merged with the adapter");
            }
            if (adapter == null && mergeType != null) {
                throw new IllegalArgumentException("--merge-type needs --lora-rank");
            }
            options = run.applyTo(optimizer.applyTo(RmOptions.builder(model, data, out))
                    .outType(outType == null ? null : TrainingOptions.outType(outType))
                    .lmCoef(lmCoef)
                    .learningRate(lr))
                    .seed(seed)
                    .lora(adapter)
                    .initialAdapter(lora.initialAdapter())
                    .mergeType(mergeType == null ? LoraMerge.Type.F16 : LoraOutputOptions.mergeType(mergeType))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        RmJob.Result result = new RmJob(options, err).run();
        err.println(result);
        if (!run.quiet) {
            err.printf(Locale.ROOT, "rm: %.2f s of training on %d thread%s: %s%n", result.seconds(), run.threads, run.threads == 1 ? "" : "s",
                    result.timings().describe(result.seconds()));
            err.println("rm: wrote " + result.out() + ", metrics " + result.metrics()
                    + (result.plot() != null ? ", plot " + result.plot() : "") + ", checkpoint " + result.checkpoint());
        }
        return 0;
    }
}
