package org.align4j.job;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.align4j.data.TrlRecord;
import org.align4j.engine.Completion;
import org.align4j.engine.SampleResult;

/** The record {@code sample} writes, which {@code bon} and {@code rso --keep-candidates} extend. */
public final class SampleOutput {
    private SampleOutput() {}

    /**
     * {@code record} with {@code id} first, its fields kept, and {@code "completions": [{"text", "token_ids",
     * "logps", "token_logps", "finish_reason"}, ...]} in completion-index order.
     */
    public static ObjectNode node(TrlRecord record, SampleResult result) {
        ObjectNode out = record.outputNode();
        ArrayNode completions = out.putArray("completions");
        for (Completion c : result.completions()) {
            ObjectNode json = completions.addObject();
            json.put("text", c.text());
            ArrayNode ids = json.putArray("token_ids");
            for (int t : c.tokenIds()) {
                ids.add(t);
            }
            json.put("logps", c.logps());
            ArrayNode logps = json.putArray("token_logps");
            for (float v : c.tokenLogps()) {
                logps.add(v);
            }
            json.put("finish_reason", c.finishReason().jsonName());
        }
        return out;
    }
}
