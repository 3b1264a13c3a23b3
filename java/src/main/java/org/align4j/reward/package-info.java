/**
 * Rewards for sampled completions, behind one interface, {@link org.align4j.reward.Reward}: a job hands it
 * a prompt with all its completions ({@link org.align4j.reward.RewardInput}) and gets one number per
 * completion back, in order. {@code --reward SPEC} picks the kind ({@link org.align4j.reward.RewardSpec}):
 *
 * <ul>
 *   <li>{@code cmd:COMMAND}: an external process speaking JSON lines ({@link org.align4j.reward.CommandReward});
 *   <li>{@code match:FIELD}: 1 if the final answer equals the record's FIELD ({@link org.align4j.reward.FinalAnswer});
 *   <li>{@code regex:PATTERN}: 1 if the completion contains a match of PATTERN;
 *   <li>{@code implicit:REF.gguf[:BETA]}: the DPO implicit reward ({@link org.align4j.reward.ImplicitReward});
 *   <li>{@code judge:JUDGE.gguf[:RUBRIC_FILE]}: an LLM judge's expected 1..5 rating ({@link org.align4j.reward.JudgeReward});
 *   <li>{@code rm:RM.gguf}: a reward model's scalar head ({@link org.align4j.reward.RewardModelReward}).
 * </ul>
 *
 * Errors: a malformed SPEC is an IllegalArgumentException when parsed (a usage error); anything that goes
 * wrong while opening or scoring is an {@link org.align4j.Align4jException} whose message names the record
 * id, and the command, model or file involved. Model-based rewards own their models and scorers and free
 * them on close; {@code cmd:} owns its child process and ends it on close.
 */
package org.align4j.reward;
