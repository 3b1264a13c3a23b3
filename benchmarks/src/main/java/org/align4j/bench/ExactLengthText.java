package org.align4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.random.RandomGenerator;
import org.align4j.llama.Vocab;

/**
 * Text of an exact token length under a model's tokenizer: random whole-word tokens (a space and three
 * or more lowercase letters). A pre-tokenizer splits text before each space-led word, and each of
 * these words is one vocabulary entry, so n of them tokenize back to exactly n tokens (checked).
 * SentencePiece (SPM) tokenizers put a space before the text themselves, so for them the text starts
 * without one.
 */
final class ExactLengthText {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Vocab vocab;
    private final RandomGenerator rnd;
    private final List<String> words = new ArrayList<>();

    private ExactLengthText(Vocab vocab, RandomGenerator rnd) {
        this.vocab = vocab;
        this.rnd = rnd;
        for (int id = 0; id < vocab.nTokens(); id++) {
            String piece = vocab.tokenToPiece(id, false);
            if (piece.matches(" [a-z]{3,}")) {
                words.add(piece);
            }
        }
        if (words.size() < 100) {
            throw new IllegalStateException("the vocabulary has only " + words.size() + " whole-word tokens");
        }
    }

    /** A prompt of exactly {@code tokens} tokens as the jobs tokenize it, BOS included. */
    private String prompt(int tokens) {
        return text(tokens - (vocab.addsBos() ? 1 : 0));
    }

    /** A completion of exactly {@code tokens} tokens as score and dpo tokenize it, EOS included. */
    private String completion(int tokens) {
        return text(tokens - (vocab.eos() >= 0 ? 1 : 0));
    }

    /** Text that tokenizes (without BOS) to exactly {@code tokens} tokens. */
    private String text(int tokens) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            b.append(words.get(rnd.nextInt(words.size())));
        }
        String text = vocab.type() == Vocab.Type.SPM ? b.substring(1) : b.toString();
        int got = vocab.tokenize(text, false, false).length;
        if (got != tokens) {
            throw new IllegalStateException("generated text tokenizes to " + got + " tokens, not " + tokens);
        }
        return text;
    }

    /**
     * Writes {@code count} prompt records whose prompts are exactly {@code promptTokens} tokens as the jobs
     * tokenize them (BOS included), seeded.
     */
    static void writePrompts(Path model, Path file, int count, int promptTokens) {
        write(model, file, count, (text, record) -> record.put("prompt", text.prompt(promptTokens)));
    }

    /**
     * Writes {@code count} preference records: prompts of exactly {@code promptTokens} tokens and chosen and
     * rejected of exactly {@code completionTokens}, as score and dpo tokenize them (BOS and EOS included), seeded.
     */
    static void writePairs(Path model, Path file, int count, int promptTokens, int completionTokens) {
        write(model, file, count, (text, record) -> record.put("prompt", text.prompt(promptTokens))
                .put("chosen", text.completion(completionTokens))
                .put("rejected", text.completion(completionTokens)));
    }

    /** Writes records with ids 0 to {@code count - 1} and the fields {@code fill} adds, drawn from one seeded generator. */
    private static void write(Path model, Path file, int count, BiConsumer<ExactLengthText, ObjectNode> fill) {
        List<String> lines = new ArrayList<>();
        try (Vocab vocab = Vocab.open(model)) {
            ExactLengthText text = new ExactLengthText(vocab, new SplittableRandom(42));
            for (int i = 0; i < count; i++) {
                ObjectNode record = JSON.createObjectNode().put("id", i);
                fill.accept(text, record);
                lines.add(record.toString());
            }
        }
        try {
            Files.write(file, lines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
