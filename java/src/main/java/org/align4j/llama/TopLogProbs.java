package org.align4j.llama;

/** The most probable tokens at one position: ids and raw log-probs, (K,) each, most probable first. */
public record TopLogProbs(int[] ids, float[] logps) {}
