package dev.timemachine.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LineageTest {
  static final String SHA = "a".repeat(64);

  static ModelVersion version(String spec, long registeredAt, UpstreamRef... upstream) {
    return new ModelVersion(ModelVersion.SCHEMA, ModelRef.parse(spec),
        new Triplet(new CodeRef("file:///repo", "b".repeat(40), List.of("python3", "train.py"), "."),
            new EnvironmentRef(ImageRef.parse("127.0.0.1:5000/x@sha256:" + "c".repeat(64))),
            DataRef.of("file:///store/snapshots/" + "d".repeat(64), List.of(new FileEntry("a.csv", 1, SHA))).withoutFiles(),
            List.of(upstream)),
        new RecordedOutputs(List.of(new FileEntry("model.pkl", 1, SHA)), null, Map.of(), Map.of()),
        Instant.ofEpochSecond(registeredAt), null);
  }

  static UpstreamRef encoder(String version) {
    return new UpstreamRef(null, ModelRef.parse("encoder@" + version), "encoder.pkl", SHA, 10, "file:///store");
  }

  @Test
  void downstream_lists_every_consuming_version_and_retrains_each_models_latest_only() {
    Lineage lineage = new Lineage(List.of(
        version("encoder@1", 1), version("encoder@2", 5),
        version("churn@1", 2, encoder("1")), version("churn@2", 6, encoder("2")),
        version("fraud@1", 3, encoder("1")), version("fraud@2", 7),  // fraud stopped consuming the encoder
        version("other@1", 4)));

    assertThat(lineage.downstreamOf("encoder")).extracting(l -> l.consumer().toString())
        .containsExactly("churn@1", "churn@2", "fraud@1");
    assertThat(lineage.latestDownstreamOf("encoder").keySet()).extracting(v -> v.model().toString())
        .containsExactly("churn@2");
    assertThat(lineage.upstreamOf("churn")).extracting(l -> l.consumer() + "<-" + l.upstream().model())
        .containsExactly("churn@1<-encoder@1", "churn@2<-encoder@2");
    assertThat(lineage.upstreamOf("encoder")).isEmpty();
  }

  @Test
  void an_upstream_spec_is_parsed_with_or_without_a_name_and_refused_with_the_expected_form() {
    assertThat(UpstreamRef.Spec.parse("encoder@2:encoder.pkl"))
        .isEqualTo(new UpstreamRef.Spec("encoder", ModelRef.parse("encoder@2"), "encoder.pkl"));
    assertThat(UpstreamRef.Spec.parse("feat=encoder@2:out/enc.pkl"))
        .isEqualTo(new UpstreamRef.Spec("feat", ModelRef.parse("encoder@2"), "out/enc.pkl"));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> UpstreamRef.Spec.parse("encoder:encoder.pkl"))
        .hasMessageContaining("[NAME=]MODEL@VERSION:ARTIFACT");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> UpstreamRef.Spec.parse("encoder@2:../../etc/passwd"))
        .hasMessageContaining("upstream artifact");
  }

  @Test
  void two_upstream_artifacts_on_the_same_path_are_refused() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> version("churn@1", 1, encoder("1"), encoder("2")))
        .hasMessageContaining("/upstream/encoder/encoder.pkl");
  }
}
