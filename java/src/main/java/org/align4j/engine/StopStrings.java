package org.align4j.engine;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Finds stop strings in text that grows a token at a time. Matching is on UTF-8 bytes, because a token
 * may carry part of a character; a stop string may span any number of tokens.
 */
final class StopStrings {
    private final byte[][] patterns;

    StopStrings(List<String> stops) {
        patterns = new byte[stops.size()][];
        for (int i = 0; i < patterns.length; i++) {
            patterns[i] = stops.get(i).getBytes(StandardCharsets.UTF_8);
        }
    }

    boolean isEmpty() {
        return patterns.length == 0;
    }

    /**
     * Where the earliest stop string starts in {@code text[0, length)}, or -1; {@code text[0, before)} is
     * known to hold none, so only matches ending after {@code before} are looked for.
     */
    int find(byte[] text, int length, int before) {
        int best = -1;
        for (byte[] p : patterns) {
            int last = length - p.length; // last start that fits
            for (int at = Math.max(0, before - p.length + 1); at <= last && (best < 0 || at < best); at++) {
                if (matchesAt(text, at, p)) {
                    best = at;
                    break;
                }
            }
        }
        return best;
    }

    private static boolean matchesAt(byte[] text, int at, byte[] p) {
        for (int i = 0; i < p.length; i++) {
            if (text[at + i] != p[i]) {
                return false;
            }
        }
        return true;
    }
}
