package org.align4j.demo;

import java.util.random.RandomGenerator;
import org.align4j.reward.FinalAnswer;

/**
 * The demo task: add two non-negative integers written in decimal. A prompt is {@code "37+485="}, its
 * answer {@code "522"}, and the completion a model should produce is the answer followed by
 * end-of-generation (the tokenizer's EOS, which is not text). Nothing else: no spaces, no leading
 * zeros, digits most significant first.
 *
 * <p>Difficulty is the operands' lengths: each operand's number of digits is drawn uniformly from
 * {@code [minDigits, maxDigits]}, independently, then the operand uniformly among the integers with
 * that many digits (0 counts as one digit). Longer operands mean longer carry chains, which a small
 * model learns last.
 */
public record AdditionTask(int minDigits, int maxDigits) {
    /** Operands of 1 to 3 digits: sums up to 1998, 14 tokens with BOS and EOS. */
    public static final AdditionTask DEFAULT = new AdditionTask(1, 3);
    /** Operands stay below 10^MAX_DIGITS, so sums fit in a long. */
    public static final int MAX_DIGITS = 18;

    public AdditionTask {
        if (minDigits < 1 || maxDigits > MAX_DIGITS || minDigits > maxDigits) {
            throw new IllegalArgumentException("digits must satisfy 1 <= min <= max <= " + MAX_DIGITS
                    + ", not min " + minDigits + ", max " + maxDigits);
        }
    }

    /** One sum to do. */
    public record Problem(long a, long b) {
        public Problem {
            if (a < 0 || b < 0) {
                throw new IllegalArgumentException("operands are non-negative, not " + a + " and " + b);
            }
        }

        public String prompt() {
            return a + "+" + b + "=";
        }

        public String answer() {
            return Long.toString(a + b);
        }

        /** The text a model should generate before end-of-generation: the answer alone. */
        public String completion() {
            return answer();
        }

        /** Whether {@code completion}'s final answer is this sum: the rule of {@code --reward match:answer}. */
        public boolean isCorrect(String completion) {
            return FinalAnswer.matches(completion, answer());
        }
    }

    public Problem sample(RandomGenerator rng) {
        return new Problem(operand(rng), operand(rng));
    }

    private long operand(RandomGenerator rng) {
        int digits = rng.nextInt(minDigits, maxDigits + 1);
        long low = digits == 1 ? 0 : pow10(digits - 1);
        return rng.nextLong(low, pow10(digits));
    }

    /** The number of decimal digits of {@code n >= 0}. */
    static int digits(long n) {
        return Long.toString(n).length();
    }

    static long pow10(int e) {
        long p = 1;
        for (int i = 0; i < e; i++) {
            p *= 10;
        }
        return p;
    }
}
