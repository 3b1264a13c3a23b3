package org.align4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.ModelSummary;
import org.align4j.llama.Backend;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code align4j info MODEL.gguf}: the header of a GGUF, read in pure Java, and the backend llama.cpp would run it on. */
@Command(name = "info", description = "Describe a GGUF model (architecture, size, tensors, tokenizer, hyper-parameters) and llama.cpp's backend.")
final class InfoCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL.gguf", description = "the model file")
    Path model;

    @Override
    public Integer call() {
        ModelSummary s;
        try (GgufFile f = GgufFile.open(model)) {
            s = ModelSummary.of(f);
        }
        PrintWriter out = spec.commandLine().getOut();
        String types = s.tensorsByType().entrySet().stream()
                .map(e -> e.getKey() + ": " + e.getValue()).collect(Collectors.joining(", "));
        out.printf("file:           %s (%s, GGUF v%d)%n", s.path(), Units.bytes(s.fileBytes()), s.ggufVersion());
        out.printf("architecture:   %s%n", text(s.architecture()));
        out.printf("name:           %s%n", text(s.name()));
        out.printf("parameters:     %s (%d)%n", Units.count(s.parameters()), s.parameters());
        out.printf("tensors:        %d%s%n", s.tensorCount(), types.isEmpty() ? "" : " (" + types + ")");
        out.printf("vocab size:     %s%n", number(s.vocabSize()));
        out.printf("tokenizer:      %s%n", text(s.tokenizerType()));
        out.printf("context length: %s%n", text(s.contextLength()));
        out.printf("embedding:      %s%n", text(s.embeddingLength()));
        out.printf("layers:         %s%n", text(s.blockCount()));
        out.printf("heads:          %s (KV heads: %s)%n", text(s.headCount()), text(s.headCountKv()));
        out.printf("chat template:  %s%n", s.hasChatTemplate() ? "yes" : "no");
        out.printf("file type:      %s%n", text(s.fileTypeName()));
        s.rewardHead().ifPresent(h -> out.printf("reward head:    %s%n", h));
        out.printf("backend:        %s%n", Backend.info().describe());
        out.flush();
        return 0;
    }

    private static String text(Optional<String> v) {
        return v.orElse("-");
    }

    private static String number(OptionalLong v) {
        return v.isPresent() ? Long.toString(v.getAsLong()) : "-";
    }
}
