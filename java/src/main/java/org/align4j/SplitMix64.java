package org.align4j;

/** SplitMix64 (Steele, Lea and Flood 2014), the one seed mixer of align4j: nearby inputs give unrelated outputs. */
public final class SplitMix64 {
    /** SplitMix64's increment, the golden ratio in 64 bits. */
    public static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private SplitMix64() {}

    /** SplitMix64's finalizer (its output function, without the increment). */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** One SplitMix64 step from state {@code z}: the increment, then the finalizer. */
    public static long next(long z) {
        return mix(z + GOLDEN);
    }
}
