package org.align4j.bench;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What an align4j job's summary line says, {@code JOB: N records (0 skipped), T tokens in S s}; a run that skipped a record fails. */
record JobSummary(long records, long tokens, double seconds) {

    static JobSummary parse(ChildRun run, String job) {
        Matcher m = run.find(Pattern.compile(Pattern.quote(job) + ": (\\d+) records \\(0 skipped\\), (\\d+) tokens in ([0-9.]+) s"));
        return new JobSummary(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Double.parseDouble(m.group(3)));
    }

    double tokensPerSecond() {
        return tokens / seconds;
    }
}
