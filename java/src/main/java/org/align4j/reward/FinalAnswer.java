package org.align4j.reward;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code match:FIELD} compares: the final answer of a text, GSM8K and MATH style.
 *
 * <p>The <b>answer part</b> of a text is the content of its last {@code \boxed{...}} (braces balanced),
 * else what follows its last {@code ####} on that line, else the whole text.
 *
 * <p>If the expected value (the record's FIELD, itself reduced to its answer part, so a GSM8K solution
 * ending in {@code #### 72} works as FIELD) is a <b>number</b> ({@code -12}, {@code 3.50}, {@code 1,000},
 * {@code $5}), the completion's final answer is the last number in its answer part, and the two are equal
 * when they are equal as decimals ({@code 3} = {@code 3.0} = {@code 3.00}; thousands commas and a leading
 * {@code $} ignored). Otherwise the final answer is the answer part as found in {@code \boxed{}} or after
 * {@code ####}, else the last non-blank line of the text; the two are equal when their normalised texts
 * are: whitespace runs collapsed to one space, ends trimmed, one trailing {@code .} and surrounding
 * {@code $...$} dropped, case ignored.
 */
public final class FinalAnswer {
    private FinalAnswer() {}

    // A number not glued to a preceding digit; thousands groups only as whole groups of three.
    private static final Pattern NUMBER = Pattern.compile("(?:(?<![\\d.])-)?(?:\\d{1,3}(?:,\\d{3})+(?![\\d,])|\\d+)(?:\\.\\d+)?");
    private static final Pattern WHOLE_NUMBER = Pattern.compile("-?(?:\\d{1,3}(?:,\\d{3})+|\\d+)(?:\\.\\d+)?");
    private static final String BOXED = "\\boxed{";
    private static final String HASHES = "####";

    /** Whether {@code completion}'s final answer equals {@code expected}. */
    public static boolean matches(String completion, String expected) {
        String want = answerPart(expected);
        if (want == null) {
            want = expected;
        }
        BigDecimal wantNumber = asNumber(want);
        if (wantNumber != null) {
            BigDecimal got = lastNumber(completion);
            return got != null && got.compareTo(wantNumber) == 0;
        }
        String got = finalText(completion);
        return got != null && normalise(got).equals(normalise(want));
    }

    /** The last number of the answer part, or null if there is none. */
    static BigDecimal lastNumber(String text) {
        String part = answerPart(text);
        Matcher m = NUMBER.matcher(part == null ? text : part);
        String last = null;
        while (m.find()) {
            last = m.group();
        }
        return last == null ? null : new BigDecimal(last.replace(",", ""));
    }

    /** The final answer as text: the boxed or {@code ####} answer, else the last non-blank line; null if none. */
    static String finalText(String text) {
        String part = answerPart(text);
        if (part != null) {
            return part;
        }
        String[] lines = text.strip().split("\\R");
        String last = lines[lines.length - 1].strip();
        return last.isEmpty() ? null : last;
    }

    /** The content of the last {@code \boxed{}}, else the rest of the line after the last {@code ####}; else null. */
    static String answerPart(String text) {
        int boxed = text.lastIndexOf(BOXED);
        while (boxed >= 0) {
            int start = boxed + BOXED.length();
            int depth = 1;
            for (int i = start; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == '{') {
                    depth++;
                } else if (c == '}' && --depth == 0) {
                    return text.substring(start, i).strip();
                }
            }
            boxed = text.lastIndexOf(BOXED, boxed - 1); // unbalanced: try an earlier one
        }
        int hashes = text.lastIndexOf(HASHES);
        if (hashes >= 0) {
            String rest = text.substring(hashes + HASHES.length()).strip();
            String line = rest.split("\\R", 2)[0].strip();
            return line.isEmpty() ? null : line;
        }
        return null;
    }

    /** {@code s} as a decimal if it is one number ({@code $1,000.50}, {@code 3.}), else null. */
    static BigDecimal asNumber(String s) {
        String t = s.strip();
        if (t.startsWith("$")) {
            t = t.substring(1).strip();
        }
        if (t.endsWith(".")) {
            t = t.substring(0, t.length() - 1);
        }
        return WHOLE_NUMBER.matcher(t).matches() ? new BigDecimal(t.replace(",", "")) : null;
    }

    static String normalise(String s) {
        String t = s.strip().replaceAll("\\s+", " ");
        if (t.endsWith(".")) {
            t = t.substring(0, t.length() - 1).strip();
        }
        if (t.length() >= 2 && t.startsWith("$") && t.endsWith("$")) {
            t = t.substring(1, t.length() - 1).strip();
        }
        return t.toLowerCase(Locale.ROOT);
    }
}
