package org.align4j.cli;

import java.util.Locale;

/** Human-readable counts and sizes for one-line summaries. */
final class Units {
    private Units() {}

    /** 4612345 -> "4.61M"; below a thousand, the number itself. */
    static String count(long n) {
        if (n < 1_000) {
            return Long.toString(n);
        }
        String[] suffix = {"K", "M", "B", "T"};
        double v = n;
        int i = -1;
        while (v >= 1_000 && i < suffix.length - 1) {
            v /= 1_000;
            i++;
        }
        return String.format(Locale.ROOT, "%.2f%s", v, suffix[i]);
    }

    /** Bytes in binary units: "2.31 MiB". */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] suffix = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int i = -1;
        while (v >= 1024 && i < suffix.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.2f %s", v, suffix[i]);
    }
}
