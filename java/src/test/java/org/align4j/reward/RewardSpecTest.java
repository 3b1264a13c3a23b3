package org.align4j.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RewardSpecTest {
    @Test
    void eachKindParsesItsArgumentWhole() {
        assertThat(RewardSpec.parse("cmd:python3 r.py --mode a:b")).isEqualTo(new RewardSpec.Cmd("python3 r.py --mode a:b"));
        assertThat(RewardSpec.parse("match:answer")).isEqualTo(new RewardSpec.Match("answer"));
        assertThat(((RewardSpec.Regex) RewardSpec.parse("regex:^\\d+:(yes|no)$")).pattern().pattern()).isEqualTo("^\\d+:(yes|no)$");
    }

    @Test
    void implicitTakesAnOptionalBetaAfterTheLastColon() {
        assertThat(RewardSpec.parse("implicit:ref.gguf")).isEqualTo(new RewardSpec.Implicit(Path.of("ref.gguf"), 0.1));
        assertThat(RewardSpec.parse("implicit:/m/ref.gguf:0.5")).isEqualTo(new RewardSpec.Implicit(Path.of("/m/ref.gguf"), 0.5));
        assertThat(RewardSpec.parse("implicit:/m/ref-model:2")).isEqualTo(new RewardSpec.Implicit(Path.of("/m/ref-model"), 2));
        assertThat(RewardSpec.parse("implicit:/m/a:b/ref")).isEqualTo(new RewardSpec.Implicit(Path.of("/m/a:b/ref"), 0.1));
        assertThat(RewardSpec.DEFAULT_BETA).isEqualTo(0.1);
    }

    @Test
    void judgeTakesAnOptionalRubricAfterDotGgufColon() {
        assertThat(RewardSpec.parse("judge:j.gguf")).isEqualTo(new RewardSpec.Judge(Path.of("j.gguf"), null));
        assertThat(RewardSpec.parse("judge:/m/J.GGUF:rubrics/r:1.txt"))
                .isEqualTo(new RewardSpec.Judge(Path.of("/m/J.GGUF"), Path.of("rubrics/r:1.txt")));
    }

    @Test
    void rmTakesTheWholeArgumentAsItsPath() {
        assertThat(RewardSpec.parse("rm:/m/r:m.gguf")).isEqualTo(new RewardSpec.RewardModel(Path.of("/m/r:m.gguf")));
    }

    @Test
    void malformedSpecsAreUsageErrorsThatListTheKinds() {
        assertThatThrownBy(() -> RewardSpec.parse("length")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--reward 'length': expected KIND:ARGUMENT, one of " + RewardSpec.KINDS);
        assertThatThrownBy(() -> RewardSpec.parse("bleu:ref")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--reward 'bleu:ref': unknown kind 'bleu'; the kinds are cmd:COMMAND, match:FIELD, regex:PATTERN, "
                        + "implicit:REF.gguf[:BETA], judge:JUDGE.gguf[:RUBRIC_FILE], rm:RM.gguf");
        assertThatThrownBy(() -> RewardSpec.parse("rm:")).hasMessage("--reward 'rm:': missing RM.gguf after the colon");
        assertThatThrownBy(() -> RewardSpec.parse("cmd: ")).hasMessage("--reward 'cmd: ': missing COMMAND after the colon");
        assertThatThrownBy(() -> RewardSpec.parse("match:")).hasMessage("--reward 'match:': missing FIELD after the colon");
        assertThatThrownBy(() -> RewardSpec.parse("regex:")).hasMessage("--reward 'regex:': missing PATTERN after the colon");
        assertThatThrownBy(() -> RewardSpec.parse("regex:(a")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--reward 'regex:(a': bad PATTERN: Unclosed group near index 2");
        assertThatThrownBy(() -> RewardSpec.parse("implicit:")).hasMessage("--reward 'implicit:': missing REF.gguf after the colon");
        assertThatThrownBy(() -> RewardSpec.parse("implicit:ref.gguf:big"))
                .hasMessage("--reward 'implicit:ref.gguf:big': BETA must be a positive number, not 'big'");
        assertThatThrownBy(() -> RewardSpec.parse("implicit:ref.gguf:-1"))
                .hasMessage("--reward 'implicit:ref.gguf:-1': BETA must be a positive number, not '-1'");
        assertThatThrownBy(() -> RewardSpec.parse("implicit::0.5")).hasMessage("--reward 'implicit::0.5': missing REF.gguf after the colon");
        assertThatThrownBy(() -> RewardSpec.parse("judge:j.gguf:")).hasMessage("--reward 'judge:j.gguf:': missing RUBRIC_FILE after the colon");
        assertThatThrownBy(() -> RewardSpec.parse("")).hasMessageContaining("expected KIND:ARGUMENT");
    }

    @Test
    void openingAMissingModelOrRubricIsARuntimeErrorNamingTheFile(@org.junit.jupiter.api.io.TempDir Path tmp) {
        assertThatThrownBy(() -> Rewards.parse("judge:" + tmp.resolve("no.gguf"), RewardTestModels.context((Path) null)))
                .isInstanceOf(org.align4j.Align4jException.class).hasMessageContaining("no.gguf").hasMessageContaining("does not exist");
        assertThatThrownBy(() -> Rewards.parse("judge:j.gguf:" + tmp.resolve("rubric.txt"), RewardTestModels.context((Path) null)))
                .isInstanceOf(org.align4j.Align4jException.class).hasMessageContaining("cannot read judge rubric file " + tmp.resolve("rubric.txt"));
        assertThatThrownBy(() -> Rewards.parse("implicit:ref.gguf", RewardTestModels.context((Path) null)))
                .isInstanceOf(org.align4j.Align4jException.class).hasMessage("reward implicit:ref.gguf needs the policy model, and none was given");
    }
}
