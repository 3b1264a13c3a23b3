package org.align4j.job;

import java.util.Locale;

/** {@code --on-error}: what a bad input line does to a run. */
public enum ErrorPolicy {
    /** Stop with exit 1 after flushing what is done (the default). */
    FAIL,
    /** Write the line and reason to {@code OUT.rejects.jsonl} and go on. */
    SKIP;

    /** {@code fail} or {@code skip}, any case. */
    public static ErrorPolicy parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "fail" -> FAIL;
            case "skip" -> SKIP;
            default -> throw new IllegalArgumentException("--on-error takes fail or skip, not '" + s + "'");
        };
    }

    /** The option value: {@code fail}, {@code skip}. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
