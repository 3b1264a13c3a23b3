package org.align4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.align4j.gguf.RewardHead;
import org.align4j.rm.RmAttach;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code align4j rm attach}: a Hugging Face reward model's score.weight onto the GGUF of the same checkpoint. */
@Command(name = "attach", sortOptions = false, description = {
        "Attach a Hugging Face reward model's head (score.weight [1, hidden] in a safetensors file; F32, F16 or BF16)",
        "to the GGUF of the same checkpoint converted as a causal LM, writing an RM file: the GGUF again, tensors",
        "byte for byte, with the head in metadata. The README gives the recipe."})
final class RmAttachCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "LM.gguf", description = "the checkpoint converted as a causal LM")
    Path model;

    @Option(names = "--head", required = true, paramLabel = "score.safetensors", description = "a safetensors file with score.weight")
    Path head;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "RM.gguf", description = "the reward model to write")
    Path out;

    @Override
    public Integer call() {
        RewardHead h = RmAttach.attach(model, head, out);
        spec.commandLine().getErr().println("rm attach: wrote " + out + " (" + model + " with a head of " + h.hiddenSize() + " weights)");
        return 0;
    }
}
