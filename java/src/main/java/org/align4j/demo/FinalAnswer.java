package org.align4j.demo;

import java.math.BigInteger;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What counts as a completion's final answer in the demo task: the last integer in its text, an
 * optional '-' and a run of ASCII digits. It is correct when it equals the expected answer as an
 * integer (so {@code "0522"} answers 522). This is the rule {@code --reward match:answer} applies to
 * the demo's prompt sets.
 */
public final class FinalAnswer {
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]+");

    private FinalAnswer() {}

    /** The last integer in {@code text}, as written ({@code "-12"}, {@code "007"}); empty if it has none. */
    public static Optional<String> lastInteger(String text) {
        Matcher m = INTEGER.matcher(text);
        String last = null;
        while (m.find()) {
            last = m.group();
        }
        return Optional.ofNullable(last);
    }

    /**
     * Whether the last integer in {@code completion} equals {@code answer}, an integer in decimal
     * (surrounding whitespace ignored). A completion with no integer is wrong.
     */
    public static boolean isCorrect(String answer, String completion) {
        BigInteger expected;
        try {
            expected = new BigInteger(answer.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the expected answer must be an integer, not '" + answer + "'", e);
        }
        return lastInteger(completion).map(BigInteger::new).filter(expected::equals).isPresent();
    }
}
