package org.align4j.engine;

import org.align4j.data.BadRecordException;
import org.align4j.data.ChatRenderer;
import org.align4j.data.PreferenceRecord;
import org.align4j.data.PromptCompletionRecord;
import org.align4j.data.RenderedPair;
import org.align4j.data.TrlRecord;

import java.util.Arrays;
import org.align4j.llama.Vocab;

/**
 * A record's prompt and completions as token ids, by the one tokenization rule every job uses (TRL's
 * DPOTrainer.tokenize_row): the prompt text is tokenized with the model's special tokens (BOS) and
 * special-token text parsed; each completion text is tokenized on its own, without BOS, then the
 * model's EOS is appended, so that a completion's log-prob includes ending where it ends. Conversational
 * records are rendered with the chat template first (the completion is what the full conversation adds
 * after the prompt with its assistant opening) and get no EOS: the template closes the turn itself.
 *
 * @param prompt      (P,) token ids (P >= 1 from {@link #of})
 * @param completions (K, L_k) token ids: chosen then rejected, or the one completion (L_k >= 1 from {@link #of})
 */
public record TokenizedRecord(int[] prompt, int[][] completions) {

    /**
     * Tokenizes a preference or prompt-completion record.
     *
     * @throws BadRecordException naming the record's file and line for a prompt record (nothing to score),
     *     a prompt or completion that tokenizes to nothing, or chosen and rejected that render to different
     *     prompts
     */
    public static TokenizedRecord of(TrlRecord record, Vocab vocab, ChatRenderer renderer) {
        RenderedPair[] pairs = switch (record) {
            case PreferenceRecord p -> new RenderedPair[] {p.renderChosen(renderer), p.renderRejected(renderer)};
            case PromptCompletionRecord p -> new RenderedPair[] {p.render(renderer)};
            default -> throw new BadRecordException(record.file(), record.lineNumber(),
                    "nothing to score: the record has neither \"chosen\"/\"rejected\" nor \"completion\"");
        };
        String[] completionTexts = new String[pairs.length];
        for (int k = 0; k < pairs.length; k++) {
            if (!pairs[k].promptText().equals(pairs[0].promptText())) {
                throw new BadRecordException(record.file(), record.lineNumber(),
                        "chosen and rejected render to different prompts; they must share one");
            }
            completionTexts[k] = pairs[k].completionText();
        }
        boolean conversational = record.prompt().isConversational();
        TokenizedRecord tokenized = ofText(pairs[0].promptText(), completionTexts, conversational, vocab);
        if (tokenized.prompt().length == 0) {
            throw new BadRecordException(record.file(), record.lineNumber(), "the prompt tokenizes to nothing");
        }
        int[][] completions = tokenized.completions();
        for (int[] c : completions) {
            if (c.length == (conversational ? 0 : 1)) {
                throw new BadRecordException(record.file(), record.lineNumber(), "a completion tokenizes to nothing");
            }
        }
        if (record instanceof PreferenceRecord && Arrays.equals(completions[0], completions[1])) {
            throw new BadRecordException(record.file(), record.lineNumber(), "chosen and rejected tokenize to the same "
                    + completions[0].length + " tokens: the pair states no preference");
        }
        return tokenized;
    }

    /**
     * The rule on text already rendered: {@code promptText} with BOS and special tokens parsed, each of
     * {@code completionTexts} without BOS, then the model's EOS unless {@code conversational}. Checks
     * nothing: a prompt or completion may come out empty.
     */
    public static TokenizedRecord ofText(String promptText, String[] completionTexts, boolean conversational, Vocab vocab) {
        int[] prompt = vocab.tokenize(promptText, true, true);
        int[][] completions = new int[completionTexts.length][];
        for (int k = 0; k < completionTexts.length; k++) {
            completions[k] = vocab.tokenize(completionTexts[k], false, true);
            if (!conversational) {
                completions[k] = Arrays.copyOf(completions[k], completions[k].length + 1);
                completions[k][completions[k].length - 1] = vocab.eos();
            }
        }
        return new TokenizedRecord(prompt, completions);
    }

    /** Tokens of the longest single sequence, prompt + completion. */
    public int longestSequence() {
        int longest = 0;
        for (int[] c : completions) {
            longest = Math.max(longest, c.length);
        }
        return prompt.length + longest;
    }

    /** Tokens of every sequence, prompt + completion, summed over the completions. */
    public long totalTokens() {
        long n = 0;
        for (int[] c : completions) {
            n += prompt.length + c.length;
        }
        return n;
    }
}
