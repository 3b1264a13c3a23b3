package org.align4j.rso;

import java.util.Arrays;

/** How k candidates are chosen from N, by the names RSO's paper gives the three preference-data choices. */
public enum SelectionMode {
    /** rso-sample-rank: statistical rejection sampling at temperature beta (Algorithm 1). */
    RSO("rso"),
    /** sft-sample-rank, the beta = infinity limit: every candidate is acceptable, so a uniform random k of N. */
    SFT_SAMPLE_RANK("sft-sample-rank"),
    /** top-k-over-N, the beta -> 0 limit ("rejection sampling" in Anthropic HH and Llama 2): the k highest rewards. */
    TOP_K_OVER_N("top-k-over-n");

    private final String cliName;

    SelectionMode(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    public static SelectionMode named(String name) {
        for (SelectionMode m : values()) {
            if (m.cliName.equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown selection mode '" + name + "'; expected one of "
                + Arrays.stream(values()).map(SelectionMode::cliName).toList());
    }
}
