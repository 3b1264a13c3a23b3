package org.align4j.rso;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns the kept candidates of one prompt into preference pairs, the higher reward chosen. The two
 * schemes of RSO's ablation (Liu et al. 2023, arXiv 2309.06657, section 5.2, Table 2):
 * <ul>
 *   <li>{@code first-round}: disjoint neighbours in the given order, (c0, c1), (c2, c3), ...: floor(m/2)
 *       pairs from m candidates, an odd last one left out. The paper's best setting by AutoSxS.
 *   <li>{@code tournament}: a knock-out, neighbours in each round, winners advancing in order and an odd
 *       last one advancing unplayed: m - 1 games until one is left (SLiC's tournament ranking). It
 *       favours higher rewards, as the winners play again.
 * </ul>
 * A game between equal rewards has no preference: it is counted as a tie and, by the {@link TieRule},
 * dropped or kept with the earlier candidate (in the given order) as chosen. In a tournament the
 * earlier one advances either way.
 */
public record Pairing(Scheme scheme, TieRule ties) {
    public enum Scheme {
        FIRST_ROUND("first-round"),
        TOURNAMENT("tournament");

        private final String cliName;

        Scheme(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        public static Scheme named(String name) {
            for (Scheme s : values()) {
                if (s.cliName.equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown pairing '" + name + "'; expected one of "
                    + Arrays.stream(values()).map(Scheme::cliName).toList());
        }
    }

    public enum TieRule {
        /** Drop games between equal rewards: they carry no preference signal. */
        SKIP("skip"),
        /** Keep them, the earlier candidate as chosen. */
        KEEP("keep");

        private final String cliName;

        TieRule(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        public static TieRule named(String name) {
            for (TieRule t : values()) {
                if (t.cliName.equals(name)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("unknown tie rule '" + name + "'; expected one of "
                    + Arrays.stream(values()).map(TieRule::cliName).toList());
        }
    }

    /** Candidate indices: chosen has the higher reward (or, for a kept tie, the equal one that came first). */
    public record Pair(int chosen, int rejected) {}

    /**
     * @param pairs the pairs written, in game order
     * @param games games played: floor(m/2) or m - 1
     * @param ties games between equal rewards, included in pairs under KEEP and not under SKIP
     */
    public record Result(List<Pair> pairs, int games, int ties) {}

    /**
     * Pairs the candidates in the given order (for RSO, the acceptance order); rewards are indexed by
     * candidate, (N,).
     */
    public Result pair(int[] candidates, double[] rewards) {
        boolean[] seen = new boolean[rewards.length];
        for (int c : candidates) {
            if (c < 0 || c >= rewards.length || seen[c]) {
                throw new IllegalArgumentException("candidate " + c + " is out of range or listed twice");
            }
            if (!Double.isFinite(rewards[c])) {
                throw new IllegalArgumentException("reward of candidate " + c + " is " + rewards[c]);
            }
            seen[c] = true;
        }
        List<Pair> pairs = new ArrayList<>();
        int[] tally = new int[2]; // games, ties
        int[] round = candidates.clone();
        do {
            int[] winners = new int[(round.length + 1) / 2];
            for (int j = 0; j + 1 < round.length; j += 2) {
                winners[j / 2] = play(round[j], round[j + 1], rewards, pairs, tally);
            }
            if (round.length % 2 == 1) {
                winners[winners.length - 1] = round[round.length - 1];
            }
            round = winners;
        } while (scheme == Scheme.TOURNAMENT && round.length > 1);
        return new Result(List.copyOf(pairs), tally[0], tally[1]);
    }

    /** One game; returns the winner, the first candidate on a tie. */
    private int play(int first, int second, double[] rewards, List<Pair> pairs, int[] tally) {
        tally[0]++;
        if (rewards[first] == rewards[second]) {
            tally[1]++;
            if (ties == TieRule.KEEP) {
                pairs.add(new Pair(first, second));
            }
            return first;
        }
        Pair p = rewards[first] > rewards[second] ? new Pair(first, second) : new Pair(second, first);
        pairs.add(p);
        return p.chosen();
    }
}
