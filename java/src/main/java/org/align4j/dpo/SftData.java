package org.align4j.dpo;

import org.align4j.job.TrainingRecords;
import org.align4j.train.Sequence;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.align4j.data.BadRecordException;
import org.align4j.data.ChatMessage;
import org.align4j.data.ChatRenderer;
import org.align4j.data.Content;
import org.align4j.data.JsonlReader;
import org.align4j.data.PromptCompletionRecord;
import org.align4j.data.TrlRecord;
import org.align4j.engine.TokenizedRecord;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.RecordLoop;
import org.align4j.job.RejectsWriter;
import org.align4j.job.ResumeState;
import org.align4j.llama.Vocab;

/**
 * A supervised fine-tuning set as token ids, checked for training. A line is a prompt-completion record
 * (TRL's {@code {"prompt", "completion"}}, plain or conversational), or a record {@code bon} wrote
 * ({@code "completions": [{"text", "reward", ...}, ...]} and {@code "best"}, the index of the highest
 * reward), of which the best completion is the one trained on: rejection-sampling fine-tuning. A bon
 * record's completion is the sampled text, after a conversational prompt as the assistant's message (as
 * {@code loop} makes its pairs), so the chat template closes the turn. Records are tokenized by the shared
 * rule ({@link TokenizedRecord}). A record is refused (under {@link ErrorPolicy#FAIL} the read stops with
 * its {@link BadRecordException}, under SKIP it goes to the rejects file) when it is of neither shape, its
 * best completion is empty, prompt + completion is longer than the length limit, or a token id is outside
 * the model's embedding table. With a minimum reward, a bon record whose best reward is below it is left
 * out and counted; that is a choice of data, not an error.
 */
final class SftData {
    static final String COMPLETIONS = "completions";
    static final String BEST = "best";

    /**
     * One training sequence.
     *
     * @param prompt     (P,) token ids, BOS included when the model adds one
     * @param completion (L,) token ids the loss covers
     */
    record Example(String location, int[] prompt, int[] completion) {
        /** prompt + completion, scored from the completion's first token. */
        Sequence sequence() {
            return new Sequence(TrainingRecords.concat(prompt, completion), prompt.length);
        }
    }

    /**
     * What was read.
     *
     * @param fromBon        examples taken from bon records (the rest are prompt-completion records)
     * @param belowMinReward bon records left out because their best reward was below the minimum
     * @param skipped        lines refused under {@link ErrorPolicy#SKIP}
     */
    record Read(List<Example> examples, long fromBon, long belowMinReward, long skipped) {
        Read {
            examples = List.copyOf(examples);
        }

        int size() {
            return examples.size();
        }

        /** SHA-256 of every example's token ids, in order ({@link TrainingRecords#fingerprint}). */
        String fingerprint() {
            return TrainingRecords.fingerprint(examples.stream().flatMap(e -> Stream.of(e.prompt(), e.completion())));
        }
    }

    private SftData() {}

    /**
     * Reads every line of {@code file}.
     *
     * @param maxLen    longest prompt + completion accepted, in tokens
     * @param vocabSize rows of the model's embedding table: token ids must be below it
     * @param minReward null, or the least best reward of a bon record to train on
     * @param rejects   where skipped lines go under {@link ErrorPolicy#SKIP}
     * @throws BadRecordException the first bad line, under {@link ErrorPolicy#FAIL}
     */
    static Read read(Path file, Vocab vocab, ChatRenderer renderer, int maxLen, int vocabSize, Double minReward,
                     ErrorPolicy onError, RejectsWriter rejects) {
        List<Example> examples = new ArrayList<>();
        long[] counts = new long[3]; // from bon, below the minimum reward, skipped
        try (JsonlReader reader = JsonlReader.open(file)) {
            RecordLoop.run(reader, ResumeState.empty(), onError, TrlRecord::parse, record -> {
                boolean bon = record.node().has(COMPLETIONS);
                PromptCompletionRecord pc = bon ? best(record, minReward) : promptCompletion(record);
                if (pc == null) {
                    counts[1]++;
                    return;
                }
                TokenizedRecord t = TokenizedRecord.of(pc, vocab, renderer);
                TrainingRecords.check(record, t, maxLen, vocabSize);
                examples.add(new Example(record.location(), t.prompt(), t.completions()[0]));
                counts[0] += bon ? 1 : 0;
            }, () -> {}, (line, why) -> {
                rejects.reject(line, why);
                counts[2]++;
            });
        }
        return new Read(examples, counts[0], counts[1], counts[2]);
    }

    private static PromptCompletionRecord promptCompletion(TrlRecord record) {
        if (record instanceof PromptCompletionRecord pc) {
            return pc;
        }
        throw new BadRecordException(record.file(), record.lineNumber(), "a " + record.kind().toString().toLowerCase(Locale.ROOT).replace('_', '-')
                + " record: sft trains on prompt-completion records (\"prompt\", \"completion\") or on bon output"
                + " (\"" + COMPLETIONS + "\" and \"" + BEST + "\")");
    }

    // The bon record's best completion as a prompt-completion record; null when its reward is below minReward.
    private static PromptCompletionRecord best(TrlRecord record, Double minReward) {
        JsonNode completions = record.node().get(COMPLETIONS);
        JsonNode best = record.node().get(BEST);
        if (!completions.isArray() || completions.isEmpty()) {
            throw bad(record, "\"" + COMPLETIONS + "\" must be a non-empty list of {\"text\", \"reward\", ...}");
        }
        if (best == null || !best.isIntegralNumber() || best.asLong() < 0 || best.asLong() >= completions.size()) {
            throw bad(record, (best == null ? "has \"" + COMPLETIONS + "\" but no \"" + BEST + "\""
                    : "\"" + BEST + "\" must be an index into the " + completions.size() + " completions, not " + best)
                    + ": sft trains on the output of bon, which marks the best completion");
        }
        JsonNode c = completions.get(best.asInt());
        JsonNode text = c.get("text");
        JsonNode reward = c.get("reward");
        if (text == null || !text.isTextual() || reward == null || !reward.isNumber()) {
            throw bad(record, "the best completion (" + BEST + " " + best.asInt() + ") needs a string \"text\" and a numeric \"reward\"");
        }
        if (minReward != null && reward.doubleValue() < minReward) {
            return null;
        }
        if (text.textValue().isEmpty()) {
            throw bad(record, "the best completion (" + BEST + " " + best.asInt() + ") is empty: nothing to train on");
        }
        Content completion = record.prompt().isConversational()
                ? new Content.Conversation(List.of(new ChatMessage("assistant", text.textValue())))
                : new Content.Text(text.textValue());
        return new PromptCompletionRecord(record.line(), record.id(), record.prompt(), completion);
    }

    private static BadRecordException bad(TrlRecord record, String why) {
        return new BadRecordException(record.file(), record.lineNumber(), why);
    }
}
