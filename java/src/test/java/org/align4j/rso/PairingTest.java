package org.align4j.rso;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.align4j.rso.Pairing.Pair;
import org.align4j.rso.Pairing.Result;
import org.align4j.rso.Pairing.Scheme;
import org.align4j.rso.Pairing.TieRule;
import org.junit.jupiter.api.Test;

class PairingTest {
    static final Pairing FIRST_ROUND = new Pairing(Scheme.FIRST_ROUND, TieRule.SKIP);
    static final Pairing TOURNAMENT = new Pairing(Scheme.TOURNAMENT, TieRule.SKIP);

    @Test
    void gameCountsForEvenAndOddSizes() {
        SplittableRandom rng = new SplittableRandom(1);
        for (int m = 0; m <= 17; m++) {
            double[] rewards = rng.doubles(m).toArray(); // distinct with probability 1
            int[] order = IntStream.range(0, m).toArray();
            Result first = FIRST_ROUND.pair(order, rewards);
            Result tour = TOURNAMENT.pair(order, rewards);
            assertThat(first.games()).as("first-round, m=%d", m).isEqualTo(m / 2);
            assertThat(first.pairs()).hasSize(m / 2);
            assertThat(tour.games()).as("tournament, m=%d", m).isEqualTo(Math.max(0, m - 1));
            assertThat(tour.pairs()).hasSize(Math.max(0, m - 1));
        }
    }

    @Test
    void firstRoundPairsNeighboursInTheGivenOrder() {
        double[] rewards = {0.5, 9, 2, 0, 0, 7, 0, 1};
        Result r = FIRST_ROUND.pair(new int[] {5, 2, 7, 0, 1}, rewards);
        // (5: 7 vs 2: 2), (7: 1 vs 0: 0.5); candidate 1 is the odd one out
        assertThat(r.pairs()).containsExactly(new Pair(5, 2), new Pair(7, 0));
    }

    @Test
    void tournamentAdvancesWinnersAndByes() {
        double[] rewards = {1, 5, 3, 2, 4};
        Result r = TOURNAMENT.pair(new int[] {0, 1, 2, 3, 4}, rewards);
        // round 1: 1 beats 0, 2 beats 3, 4 has a bye; round 2: 1 beats 2, 4 has a bye; final: 1 beats 4
        assertThat(r.pairs()).containsExactly(new Pair(1, 0), new Pair(2, 3), new Pair(1, 2), new Pair(1, 4));
    }

    @Test
    void tiesAreCountedAndSkippedOrKept() {
        double[] equal = {2, 2, 2, 2, 2, 2};
        int[] order = {0, 1, 2, 3, 4, 5};
        Result skip = FIRST_ROUND.pair(order, equal);
        assertThat(skip.pairs()).isEmpty();
        assertThat(skip.games()).isEqualTo(3);
        assertThat(skip.ties()).isEqualTo(3);
        Result keep = new Pairing(Scheme.FIRST_ROUND, TieRule.KEEP).pair(order, equal);
        assertThat(keep.pairs()).containsExactly(new Pair(0, 1), new Pair(2, 3), new Pair(4, 5));
        assertThat(keep.ties()).isEqualTo(3);

        Result tourSkip = TOURNAMENT.pair(order, equal);
        assertThat(tourSkip.pairs()).isEmpty();
        assertThat(tourSkip.games()).isEqualTo(5);
        assertThat(tourSkip.ties()).isEqualTo(5);
        Result tourKeep = new Pairing(Scheme.TOURNAMENT, TieRule.KEEP).pair(order, equal);
        assertThat(tourKeep.pairs()).hasSize(5);

        double[] mixed = {3, 3, 1, 2};
        Result m = TOURNAMENT.pair(new int[] {0, 1, 2, 3}, mixed);
        // round 1: 0 ties 1 (skipped, 0 advances), 3 beats 2; final: 0 beats 3
        assertThat(m.pairs()).containsExactly(new Pair(3, 2), new Pair(0, 3));
        assertThat(m.games()).isEqualTo(3);
        assertThat(m.ties()).isEqualTo(1);
    }

    @Test
    void chosenNeverHasTheLowerRewardAndCountsAddUp() {
        SplittableRandom rng = new SplittableRandom(9);
        int checked = 0;
        for (int trial = 0; trial < 500; trial++) {
            int m = rng.nextInt(0, 20);
            double[] rewards = IntStream.range(0, m).mapToDouble(i -> rng.nextInt(0, 4)).toArray(); // many ties
            int[] order = IntStream.range(0, m).toArray();
            for (Scheme scheme : Scheme.values()) {
                for (TieRule ties : TieRule.values()) {
                    Result r = new Pairing(scheme, ties).pair(order, rewards);
                    for (Pair p : r.pairs()) {
                        assertThat(rewards[p.chosen()]).isGreaterThanOrEqualTo(rewards[p.rejected()]);
                        if (ties == TieRule.SKIP) {
                            assertThat(rewards[p.chosen()]).isGreaterThan(rewards[p.rejected()]);
                        }
                        checked++;
                    }
                    assertThat(r.pairs()).hasSize(ties == TieRule.KEEP ? r.games() : r.games() - r.ties());
                }
            }
        }
        System.out.printf("chosen reward >= rejected in all %d pairs of 500 random lists with ties%n", checked);
    }

    @Test
    void pairsTheSelectionOfARejectionSampler() {
        double[] rewards = new SplittableRandom(4).doubles(64, -2, 2).toArray();
        Selection s = RejectionSampler.rso(0.5).select(rewards, 8, new SplittableRandom(12));
        Result r = FIRST_ROUND.pair(s.accepted(), rewards);
        assertThat(r.pairs()).hasSize(4);
        assertThat(r.pairs().stream().flatMap(p -> List.of(p.chosen(), p.rejected()).stream()))
                .containsExactlyInAnyOrder(IntStream.of(s.accepted()).boxed().toArray(Integer[]::new));
    }

    @Test
    void refusesRepeatedOrUnknownCandidates() {
        double[] rewards = {1, 2, 3};
        assertThatThrownBy(() -> FIRST_ROUND.pair(new int[] {0, 0}, rewards)).hasMessageContaining("listed twice");
        assertThatThrownBy(() -> FIRST_ROUND.pair(new int[] {0, 3}, rewards)).hasMessageContaining("out of range");
        assertThatThrownBy(() -> Scheme.named("round-robin")).hasMessageContaining("unknown pairing");
        assertThat(Scheme.named("tournament")).isEqualTo(Scheme.TOURNAMENT);
        assertThat(TieRule.named("keep")).isEqualTo(TieRule.KEEP);
    }
}
