package org.align4j.reward;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.Align4jException;
import org.align4j.IoMessages;

/**
 * The text a judge is asked: {@code {prompt}} and {@code {completion}} in it are replaced by the prompt
 * and the completion to rate (in one pass, so either may itself contain the placeholders). A rubric asks
 * for a rating from 1 to 5 and ends where the rating is to be written.
 */
public record JudgeRubric(String template) {
    public static final String PROMPT = "{prompt}";
    public static final String COMPLETION = "{completion}";

    /** A 5-point rubric, shortened from Self-Rewarding Language Models' (Yuan et al. 2024) judge prompt. */
    public static final JudgeRubric DEFAULT = new JudgeRubric("""
            Review the user's question and the response below, and rate the response on a scale of 1 to 5:
            1: irrelevant, wrong or harmful;
            2: relevant but mostly unhelpful or incorrect;
            3: partly answers the question, with gaps or errors;
            4: answers the question correctly and helpfully, with minor flaws;
            5: an excellent answer: correct, complete, clear and concise.

            Question:
            {prompt}

            Response:
            {completion}

            Answer with the rating alone, a single digit from 1 to 5.
            Rating:""");

    public JudgeRubric {
        if (!template.contains(COMPLETION)) {
            throw new IllegalArgumentException("a judge rubric must contain " + COMPLETION + ", where the completion to rate goes");
        }
    }

    /** Reads a rubric file (UTF-8); unreadable or without {@code {completion}} is an Align4jException naming it. */
    public static JudgeRubric read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new Align4jException("cannot read judge rubric file " + file + ": " + IoMessages.describe(e), e);
        }
        if (!text.contains(COMPLETION)) {
            throw new Align4jException("judge rubric file " + file + " has no " + COMPLETION
                    + " placeholder (and usually a " + PROMPT + "): the judge would not see what it rates");
        }
        return new JudgeRubric(text);
    }

    /** The rubric with the placeholders filled in. */
    public String fill(String prompt, String completion) {
        StringBuilder sb = new StringBuilder(template.length() + prompt.length() + completion.length());
        int i = 0;
        while (i < template.length()) {
            if (template.startsWith(PROMPT, i)) {
                sb.append(prompt);
                i += PROMPT.length();
            } else if (template.startsWith(COMPLETION, i)) {
                sb.append(completion);
                i += COMPLETION.length();
            } else {
                sb.append(template.charAt(i++));
            }
        }
        return sb.toString();
    }
}
