package org.align4j.engine;

import org.align4j.data.BadRecordException;
import org.align4j.data.ChatRenderer;
import org.align4j.data.ChatRendering;
import org.align4j.data.PromptRecord;
import org.align4j.llama.Vocab;

/**
 * One prompt to sample {@code n} completions from.
 *
 * @param key        names the request for seeding (a record id): completion k samples with a seed derived
 *                   from (the run's seed, key, k), so the same key, prompt, parameters and model give the
 *                   same completions whatever else is sampled beside them
 * @param promptText the prompt as the model sees it (chat template applied), carried to the result
 * @param prompt     (P,) its token ids, with BOS if the model wants one
 * @param n          completions to sample
 */
public record SampleRequest(String key, String promptText, int[] prompt, int n) {
    public SampleRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt: the first sampled token needs a context");
        }
        if (n < 1) {
            throw new IllegalArgumentException("n must be positive, not " + n);
        }
    }

    /**
     * The request for a prompt record: its prompt rendered (chat template for a conversation) and tokenized
     * with BOS and special tokens parsed, as {@code score} tokenizes prompts, keyed by the record's id.
     *
     * @throws BadRecordException if the prompt tokenizes to nothing
     */
    public static SampleRequest of(PromptRecord record, int n, Vocab vocab, ChatRenderer renderer) {
        String text = ChatRendering.renderPrompt(record, renderer);
        int[] tokens = vocab.tokenize(text, true, true);
        if (tokens.length == 0) {
            throw new BadRecordException(record.file(), record.lineNumber(),
                    "the prompt tokenizes to nothing (empty, and the model adds no BOS): nothing to sample from");
        }
        return new SampleRequest(record.id().value().toString(), text, tokens, n);
    }
}
