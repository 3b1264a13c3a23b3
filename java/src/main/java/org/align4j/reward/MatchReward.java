package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import org.align4j.Align4jException;
import java.util.List;

/** {@code match:FIELD}: 1 if a completion's final answer equals the record's FIELD, else 0 ({@link FinalAnswer}). */
final class MatchReward implements Reward {
    private final String field;

    MatchReward(String field) {
        this.field = field;
    }

    @Override
    public Identity identity() {
        return new Identity("match:" + field, List.of());
    }

    @Override
    public double[] score(RewardInput in) {
        String expected = expected(in);
        double[] out = new double[in.completions().size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = FinalAnswer.matches(in.completions().get(i).text(), expected) ? 1 : 0;
        }
        return out;
    }

    private String expected(RewardInput in) {
        JsonNode v = in.record().get(field);
        if (v == null || v.isNull()) {
            throw new Align4jException("record " + in.id() + ": reward match:" + field + " needs a field \"" + field
                    + "\" holding the expected answer, and the record has none");
        }
        if (v.isNumber()) {
            return v.decimalValue().toPlainString();
        }
        if (v.isTextual() || v.isBoolean()) {
            return v.asText();
        }
        throw new Align4jException("record " + in.id() + ": reward match:" + field + ": field \"" + field
                + "\" must be a string or a number, not " + v.getNodeType().name().toLowerCase());
    }

    @Override
    public void close() {}
}
