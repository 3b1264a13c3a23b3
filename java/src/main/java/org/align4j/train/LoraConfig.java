package org.align4j.train;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A LoRA adapter's settings: rank r, alpha (the delta is scaled by alpha / r), the matrices it acts on
 * and the dropout of training passes on their input.
 *
 * @param targets in {@link LoraParams.Target}'s order
 * @param dropout p of PEFT's lora_dropout ({@link LoraDropout}), 0 <= p < 1; 0: none
 */
public record LoraConfig(int rank, float alpha, Set<LoraParams.Target> targets, float dropout) {
    public LoraConfig {
        if (rank < 1) {
            throw new IllegalArgumentException("LoRA rank must be at least 1, not " + rank);
        }
        if (!Float.isFinite(alpha) || alpha <= 0) {
            throw new IllegalArgumentException("LoRA alpha must be positive and finite, not " + alpha);
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("no LoRA targets");
        }
        targets = Collections.unmodifiableSet(EnumSet.copyOf(targets));
        LoraDropout.checkProbability(dropout);
    }

    /** Without dropout. */
    public LoraConfig(int rank, float alpha, Set<LoraParams.Target> targets) {
        this(rank, alpha, targets, 0);
    }

    /** Rank r with alpha = r (scale 1, as PEFT's defaults r = 8, lora_alpha = 8) on all seven targets, no dropout. */
    public static LoraConfig ofRank(int rank) {
        return new LoraConfig(rank, rank, EnumSet.allOf(LoraParams.Target.class));
    }

    public LoraConfig withDropout(float p) {
        return new LoraConfig(rank, alpha, targets, p);
    }

    /** "q,k,v" -> its targets; an unknown name is an IllegalArgumentException listing the known ones. */
    public static Set<LoraParams.Target> targets(String commaSeparated) {
        Set<LoraParams.Target> out = EnumSet.noneOf(LoraParams.Target.class);
        for (String name : commaSeparated.split(",", -1)) {
            out.add(LoraParams.Target.named(name));
        }
        return out;
    }

    /** "q,k,v,o,gate,up,down". */
    public String targetNames() {
        return targets.stream().map(t -> t.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(","));
    }

    @Override
    public String toString() {
        return "LoRA rank " + rank + ", alpha " + alpha + " on " + targetNames() + (dropout > 0 ? ", dropout " + dropout : "");
    }
}
