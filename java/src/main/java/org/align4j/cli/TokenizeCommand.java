package org.align4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.llama.Vocab;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code align4j tokenize}: text to token ids with a model's own tokenizer (llama.cpp's). */
@Command(name = "tokenize", description = "Tokenize text with a model's tokenizer.")
final class TokenizeCommand implements Callable<Integer>, RunsLlama {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL.gguf", description = "model (only its tokenizer is loaded)")
    Path model;

    @Option(names = "--ids", description = "print only the ids, space-separated on one line")
    boolean idsOnly;

    @Option(names = "--no-bos", description = "do not add BOS/EOS even if the model asks for them")
    boolean noBos;

    @Option(names = "--no-parse-special", description = "treat special-token text such as <|eot_id|> as plain text")
    boolean noParseSpecial;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Parameters(paramLabel = "TEXT", description = "the text")
        String text;

        @Option(names = "--file", paramLabel = "F", description = "read the text from a UTF-8 file")
        Path file;
    }

    @Override
    public Integer call() {
        String text = input.text != null ? input.text : readText(input.file);
        PrintWriter out = spec.commandLine().getOut();
        try (Vocab vocab = Vocab.open(model)) {
            int[] ids = vocab.tokenize(text, !noBos, !noParseSpecial);
            if (idsOnly) {
                out.println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
            } else {
                for (int id : ids) {
                    out.printf("%6d  %s%n", id, quote(vocab.tokenToPiece(id, true)));
                }
                out.printf("%d tokens%n", ids.length);
            }
        }
        out.flush();
        return 0;
    }

    private static String readText(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Align4jException("cannot read " + file + ": " + IoMessages.describe(e), e);
        }
    }

    /** A piece shown so that spaces, newlines and control bytes are visible. */
    private static String quote(String piece) {
        StringBuilder b = new StringBuilder("'");
        piece.codePoints().forEach(c -> {
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                case '\'' -> b.append("\\'");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\x%02x", c));
                    } else {
                        b.appendCodePoint(c);
                    }
                }
            }
        });
        return b.append('\'').toString();
    }
}
