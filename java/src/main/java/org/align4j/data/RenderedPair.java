package org.align4j.data;

/** A prompt and one of its completions as the text a model is fed; the completion text is what is scored. */
public record RenderedPair(String promptText, String completionText) {}
