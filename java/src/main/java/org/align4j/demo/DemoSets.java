package org.align4j.demo;

import org.align4j.SplitMix64;
import static org.align4j.SplitMix64.mix;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.align4j.Align4jException;
import org.align4j.data.JsonlWriter;
import org.align4j.demo.AdditionTask.Problem;

/**
 * The demo model's fixed data, generated from one seed: a held-out prompt set for evaluation, a train
 * prompt set for the preference stage (Best-of-N, RSO, DPO), and SFT data.
 *
 * <p>Disjoint by construction: every problem belongs to exactly one {@link Split}, by a seeded hash of
 * its unordered operand pair, so {@code 37+485=} and {@code 485+37=} land in the same split and no set
 * leaks another's sums. Prompt sets hold distinct prompts; SFT records are drawn with replacement from
 * the SFT split (so small operand classes, such as the 100 one-digit sums, keep their share). Each set
 * draws from its own stream, split off one {@code SplittableRandom(seed)} in the order held-out, train,
 * SFT, so a set does not depend on the sizes of the others.
 *
 * <p>Files: prompt records {@code {"id", "prompt", "answer"}} ({@code answer} is what
 * {@code --reward match:answer} compares) and prompt-completion records {@code {"prompt", "completion"}};
 * the completion is the text before end-of-generation, so a trainer appends EOS to it.
 */
public final class DemoSets {
    public static final String HELDOUT_FILE = "heldout.jsonl", TRAIN_FILE = "train.jsonl", SFT_FILE = "sft.jsonl";

    /** Where a problem may appear, with the share of all problems each split gets. */
    public enum Split {
        HELDOUT(0.1), TRAIN(0.2), SFT(0.7);

        final double share;

        Split(double share) {
            this.share = share;
        }
    }

    /** What to generate. */
    public record Spec(long seed, AdditionTask task, int heldout, int train, int sft) {
        /** The committed sets under models/demo/. */
        public static final Spec DEFAULT = new Spec(20_260_928L, AdditionTask.DEFAULT, 500, 2_000, 20_000);

        public Spec {
            if (heldout < 0 || train < 0 || sft < 0) {
                throw new IllegalArgumentException("set sizes must be non-negative");
            }
        }
    }

    /** The three sets, in file order. */
    public record Sets(List<Problem> heldout, List<Problem> train, List<Problem> sft) {}

    private DemoSets() {}

    /** The split of {@code p} under {@code seed}: a hash of (seed, smaller operand, larger operand). */
    public static Split splitOf(Problem p, long seed) {
        long h = mix(seed + SplitMix64.GOLDEN * (1 + Math.min(p.a(), p.b())));
        h = mix(h + SplitMix64.GOLDEN * (1 + Math.max(p.a(), p.b())));
        double u = (h >>> 11) * 0x1.0p-53; // uniform in [0, 1)
        double below = 0;
        for (Split s : Split.values()) {
            below += s.share;
            if (u < below) {
                return s;
            }
        }
        return Split.SFT;
    }

    public static Sets generate(Spec spec) {
        SplittableRandom root = new SplittableRandom(spec.seed());
        SplittableRandom heldout = root.split(), train = root.split(), sft = root.split();
        return new Sets(
                draw(spec, Split.HELDOUT, spec.heldout(), true, heldout),
                draw(spec, Split.TRAIN, spec.train(), true, train),
                draw(spec, Split.SFT, spec.sft(), false, sft));
    }

    private static List<Problem> draw(Spec spec, Split split, int count, boolean distinct, SplittableRandom rng) {
        Set<Problem> seen = new HashSet<>();
        List<Problem> out = new ArrayList<>(count);
        long attempts = 0;
        long maxAttempts = 1_000L * count + 1_000_000;
        while (out.size() < count) {
            if (++attempts > maxAttempts) {
                throw new Align4jException("found only " + out.size() + " of " + count + (distinct ? " distinct" : "")
                        + " problems for the " + split + " split of " + spec.task() + " in " + maxAttempts
                        + " draws: allow more digits or ask for fewer");
            }
            Problem p = spec.task().sample(rng);
            if (splitOf(p, spec.seed()) == split && (!distinct || seen.add(p))) {
                out.add(p);
            }
        }
        return out;
    }

    /** Generates the sets and writes {@value #HELDOUT_FILE}, {@value #TRAIN_FILE} and {@value #SFT_FILE} into {@code dir}. */
    public static Sets write(Spec spec, Path dir) {
        Sets sets = generate(spec);
        writePrompts(dir.resolve(HELDOUT_FILE), "heldout", sets.heldout());
        writePrompts(dir.resolve(TRAIN_FILE), "train", sets.train());
        try (JsonlWriter w = JsonlWriter.create(dir.resolve(SFT_FILE))) {
            for (Problem p : sets.sft()) {
                ObjectNode r = JsonNodeFactory.instance.objectNode();
                r.put("prompt", p.prompt());
                r.put("completion", p.completion());
                w.write(r);
            }
        }
        return sets;
    }

    private static void writePrompts(Path file, String idPrefix, List<Problem> problems) {
        int width = Integer.toString(Math.max(problems.size() - 1, 0)).length();
        try (JsonlWriter w = JsonlWriter.create(file)) {
            for (int i = 0; i < problems.size(); i++) {
                Problem p = problems.get(i);
                ObjectNode r = JsonNodeFactory.instance.objectNode();
                r.put("id", idPrefix + "-" + String.format("%0" + width + "d", i));
                r.put("prompt", p.prompt());
                r.put("answer", p.answer());
                w.write(r);
            }
        }
    }

    /** How many problems of each operand-length class ("1+3": a one-digit plus a three-digit number). */
    public static Map<String, Integer> digitClasses(List<Problem> problems) {
        Map<String, Integer> counts = new TreeMap<>();
        for (Problem p : problems) {
            counts.merge(AdditionTask.digits(p.a()) + "+" + AdditionTask.digits(p.b()), 1, Integer::sum);
        }
        return counts;
    }


    /** {@code DemoSets OUT_DIR}: writes the {@link Spec#DEFAULT} sets into OUT_DIR and says what it wrote. */
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: DemoSets OUT_DIR   (writes " + HELDOUT_FILE + ", " + TRAIN_FILE + ", " + SFT_FILE + ")");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        Spec spec = Spec.DEFAULT;
        Sets sets = write(spec, dir);
        System.out.printf("seed %d, %s%n", spec.seed(), spec.task());
        report(dir.resolve(HELDOUT_FILE), sets.heldout());
        report(dir.resolve(TRAIN_FILE), sets.train());
        report(dir.resolve(SFT_FILE), sets.sft());
    }

    private static void report(Path file, List<Problem> problems) {
        long distinct = problems.stream().distinct().count();
        System.out.printf("%s: %d records, %d distinct; operand digits %s%n", file, problems.size(), distinct, digitClasses(problems));
    }
}
