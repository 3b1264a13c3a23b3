package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.llama.Vocab;

/**
 * {@code judge:JUDGE.gguf[:RUBRIC_FILE]}: LLM-as-judge (self-rewarding, OAIF). The reward is the rating the
 * judge expects, {@code sum_k p_k * k / sum_k p_k} over the ratings k = 1..5, so it lies in [1, 5].
 *
 * <p>The judge is asked the {@link JudgeRubric} (the built-in {@link JudgeRubric#DEFAULT}, or RUBRIC_FILE)
 * filled with the prompt as the user wrote it (a string prompt as is; a conversation's single message's
 * content, or its messages as {@code role: content} paragraphs) and the completion's text. If the judge
 * model has a chat template, the filled rubric is a user turn followed by the assistant opening, and the
 * rating texts are {@code "1"} .. {@code "5"}; without one, the filled rubric is the judge's text as is, and
 * the rating texts are {@code " 1"} .. {@code " 5"} (no space if the rubric ends in whitespace).
 *
 * <p>p_k is the judge's probability of the text {@code judgePrompt + ratingText_k} given the part all five
 * share: each of the five is tokenized whole (BOS, special tokens parsed), their longest common token
 * prefix is scored once and each remainder (usually the one digit token) as a completion after it, by
 * teacher forcing with prefix sharing. Tokenizing whole lets a tokenizer merge the rating with what
 * precedes it, as it would have when the judge wrote it.
 */
final class JudgeReward implements Reward {
    static final int MIN_RATING = 1;
    static final int MAX_RATING = 5;

    private final ScoringModel judge;
    private final JudgeRubric rubric;
    private final boolean chat;

    JudgeReward(Path judgePath, JudgeRubric rubric, RewardContext ctx) {
        this.rubric = rubric;
        this.judge = ScoringModel.load(judgePath, ctx);
        try {
            this.chat = judge.model().chatTemplate() != null;
            if (chat) {
                judgePrompt("probe", "probe"); // fail now if llama.cpp cannot apply the template
            }
        } catch (RuntimeException e) {
            judge.close();
            throw e;
        }
    }

    @Override
    public Identity identity() {
        return new Identity("judge:" + judge.model().path() + " with the rubric " + rubric.template(), List.of(judge.model().path()));
    }

    @Override
    public double[] score(RewardInput in) {
        String userPrompt = userPrompt(in);
        Vocab vocab = judge.vocab();
        List<ScoreRequest> requests = new ArrayList<>(in.completions().size());
        for (Completion c : in.completions()) {
            String prompt = judgePrompt(userPrompt, c.text());
            String[] ratings = ratingTexts(prompt, chat);
            int[][] full = new int[ratings.length][];
            for (int k = 0; k < ratings.length; k++) {
                full[k] = vocab.tokenize(prompt + ratings[k], true, true);
            }
            int shared = sharedPrefix(full);
            if (shared == 0) {
                throw new Align4jException("record " + in.id() + ": judge " + judge.model().path()
                        + ": the ratings share no token of context with the judge prompt");
            }
            int[][] tails = new int[full.length][];
            for (int k = 0; k < full.length; k++) {
                tails[k] = Arrays.copyOfRange(full[k], shared, full[k].length);
            }
            requests.add(new ScoreRequest(in.id(), Arrays.copyOf(full[0], shared), tails));
        }
        ScoreResult[] results = judge.scoreAll(in.id(), "judge prompt + rating", requests);
        double[] rewards = new double[results.length];
        for (int i = 0; i < results.length; i++) {
            double[] logps = new double[MAX_RATING - MIN_RATING + 1];
            for (int k = 0; k < logps.length; k++) {
                logps[k] = results[i].sum(k);
            }
            rewards[i] = expectedRating(logps);
        }
        return rewards;
    }

    /** The judge's text before the rating: the filled rubric, as a user turn if the judge has a chat template. */
    String judgePrompt(String userPrompt, String completion) {
        String filled = rubric.fill(userPrompt, completion);
        return chat ? judge.model().applyChatTemplate(new String[] {"user"}, new String[] {filled}, true) : filled;
    }

    /** The texts of ratings MIN_RATING..MAX_RATING as they follow {@code judgePrompt}. */
    static String[] ratingTexts(String judgePrompt, boolean chat) {
        boolean space = !chat && !judgePrompt.isEmpty() && !Character.isWhitespace(judgePrompt.charAt(judgePrompt.length() - 1));
        String[] out = new String[MAX_RATING - MIN_RATING + 1];
        for (int k = 0; k < out.length; k++) {
            out[k] = (space ? " " : "") + (MIN_RATING + k);
        }
        return out;
    }

    /**
     * sum_k p_k * rating_k / sum_k p_k, with p_k = exp(logps[k]) for rating MIN_RATING + k; computed with
     * the largest log-prob subtracted first, so tiny probabilities do not underflow to 0/0.
     */
    static double expectedRating(double[] logps) {
        double max = Double.NEGATIVE_INFINITY;
        for (double l : logps) {
            max = Math.max(max, l);
        }
        double num = 0, den = 0;
        for (int k = 0; k < logps.length; k++) {
            double w = Math.exp(logps[k] - max);
            num += w * (MIN_RATING + k);
            den += w;
        }
        return num / den;
    }

    /** Tokens all rows share at the front, leaving every row at least one token of its own. */
    private static int sharedPrefix(int[][] rows) {
        int limit = Integer.MAX_VALUE;
        for (int[] r : rows) {
            limit = Math.min(limit, r.length - 1);
        }
        int n = 0;
        while (n < limit) {
            int t = rows[0][n];
            for (int[] r : rows) {
                if (r[n] != t) {
                    return n;
                }
            }
            n++;
        }
        return n;
    }

    /** The prompt as the user wrote it, for the rubric. */
    private static String userPrompt(RewardInput in) {
        JsonNode p = in.record().get("prompt");
        if (p != null && p.isTextual()) {
            return p.textValue();
        }
        if (p != null && p.isArray() && !p.isEmpty()) {
            if (p.size() == 1 && p.get(0).path("content").isTextual()) {
                return p.get(0).path("content").textValue();
            }
            List<String> turns = new ArrayList<>();
            for (JsonNode m : p) {
                turns.add(m.path("role").asText() + ": " + m.path("content").asText());
            }
            return String.join("\n\n", turns);
        }
        return in.promptText();
    }

    @Override
    public void close() {
        judge.close();
    }
}
