package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.data.ChatMessage;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.engine.PrefixSharingScorer;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.engine.TokenizedRecord;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.RewardHead;

/**
 * {@code rm:RM.gguf}: a reward model, {@code w · h + bias} with h the RM's final hidden state at the last
 * token of prompt + completion ({@link RewardHead}). The RM reads the text, not the policy's tokens: the
 * prompt as the record has it (a conversation rendered with the RM's chat template) and each completion's
 * text, tokenized by the rule every job uses ({@link TokenizedRecord#ofText}), so a plain-text completion
 * ends with the RM's EOS. A prompt's completions share its KV cells, many per decode.
 */
final class RewardModelReward implements Reward {
    private final ScoringModel rm;
    private final RewardHead head;

    RewardModelReward(Path path, RewardContext ctx) {
        this.rm = ScoringModel.load(path, ctx, PrefixSharingScorer.Readout.LAST_HIDDEN);
        try (GgufFile file = GgufFile.open(path)) {
            this.head = RewardHead.read(file, rm.model().nEmbd());
        } catch (RuntimeException e) {
            rm.close();
            throw e;
        }
    }

    @Override
    public Identity identity() {
        return new Identity("rm:" + rm.model().path(), List.of(rm.model().path()));
    }

    @Override
    public double[] score(RewardInput in) {
        int n = in.completions().size();
        if (n == 0) {
            return new double[0];
        }
        JsonNode prompt = in.record().get("prompt");
        boolean conversational = prompt != null && prompt.isArray();
        String promptText = conversational ? renderPrompt(in.id(), prompt) : prompt != null && prompt.isTextual() ? prompt.textValue() : in.promptText();
        String[] texts = in.completions().stream().map(Completion::text).toArray(String[]::new);
        TokenizedRecord tokens = TokenizedRecord.ofText(promptText, texts, conversational, rm.vocab());
        if (tokens.prompt().length == 0) {
            throw new Align4jException("record " + in.id() + ": reward model " + rm.model().path() + ": the prompt tokenizes to nothing");
        }
        for (int i = 0; i < n; i++) {
            if (tokens.completions()[i].length == 0) {
                throw new Align4jException("record " + in.id() + ": reward model " + rm.model().path() + ": completion " + (i + 1)
                        + " of " + n + " tokenizes to nothing, so it has no last token to read the reward at");
            }
        }
        ScoreResult hidden = rm.scoreAll(in.id(), "prompt + completion",
                List.of(new ScoreRequest(in.id(), tokens.prompt(), tokens.completions())))[0];
        double[] rewards = new double[n];
        for (int i = 0; i < n; i++) {
            rewards[i] = head.reward(hidden.lastHidden()[i], 0);
        }
        return rewards;
    }

    /** A conversational prompt (the reader has checked its messages) with the RM's chat template and assistant opening. */
    private String renderPrompt(String id, JsonNode messages) {
        if (rm.model().chatTemplate() == null) {
            throw new Align4jException("record " + id + ": the prompt is a conversation and reward model " + rm.model().path()
                    + " has no chat template to render it with");
        }
        List<ChatMessage> turns = new ArrayList<>(messages.size());
        for (JsonNode m : messages) {
            turns.add(new ChatMessage(m.path("role").asText(), m.path("content").asText()));
        }
        return new LlamaChatRenderer(rm.model()).render(turns, true);
    }

    @Override
    public void close() {
        rm.close();
    }
}
