package dev.timemachine.core.model;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.errors.TimemachineException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class DomainValidationTest {
  private static final String HEX = "b".repeat(64);

  @Test
  void an_image_pinned_by_digest_parses_and_drops_its_tag() {
    ImageRef ref = ImageRef.parse("127.0.0.1:5000/team/churn-env:bookworm@sha256:" + HEX);
    assertThat(ref.repository()).isEqualTo("127.0.0.1:5000/team/churn-env");
    assertThat(ref.digest()).isEqualTo("sha256:" + HEX);
    assertThat(ref.toString()).isEqualTo("127.0.0.1:5000/team/churn-env@sha256:" + HEX);
  }

  @Test
  void an_image_named_by_tag_only_is_rejected_with_how_to_pin_it() {
    assertThatThrownBy(() -> ImageRef.parse("churn-env:latest"))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("not pinned by digest")
        .hasMessageContaining("tags move")
        .extracting(e -> ((TimemachineException) e).type())
        .isEqualTo(ErrorType.INVALID_INPUT);
  }

  @Test
  void a_short_or_uppercase_digest_is_rejected() {
    assertThatThrownBy(() -> ImageRef.parse("churn@sha256:abc")).isInstanceOf(TimemachineException.class);
    assertThatThrownBy(() -> ImageRef.parse("churn@sha256:" + "B".repeat(64))).isInstanceOf(TimemachineException.class);
  }

  @Test
  void a_commit_must_be_a_full_sha() {
    assertThatThrownBy(() -> new CodeRef("repo", "main", List.of("python3"), "."))
        .hasMessageContaining("full 40-hex commit SHA");
    assertThatThrownBy(() -> new CodeRef("repo", "abc123", List.of("python3"), ".")).isInstanceOf(TimemachineException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"../etc/passwd", "/abs", "a/../b", "a//b", "a\\b", "./a", ""})
  void unsafe_relative_paths_are_rejected(String path) {
    assertThatThrownBy(() -> RelativePaths.require(path, "key"))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("not a safe relative path");
  }

  @Test
  void a_safe_nested_path_is_accepted() {
    assertThat(RelativePaths.require("data/2026/train.csv", "key")).isEqualTo("data/2026/train.csv");
  }

  @Test
  void the_root_digest_is_the_sha256_of_the_sorted_canonical_manifest() {
    FileEntry b = new FileEntry("b.csv", 1, HEX);
    FileEntry a = new FileEntry("a.csv", 2, "c".repeat(64));
    String canonical = "c".repeat(64) + " 2 a.csv\n" + HEX + " 1 b.csv\n";
    assertThat(Digests.canonicalManifest(List.of(b, a))).isEqualTo(canonical);
    assertThat(Digests.rootDigest(List.of(b, a)))
        .isEqualTo("sha256:" + Digests.sha256Hex(canonical.getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(Digests.rootDigest(List.of(a, b)));
  }

  @Test
  void a_data_ref_whose_root_digest_does_not_match_its_files_is_rejected() {
    List<FileEntry> files = List.of(new FileEntry("a.csv", 2, HEX));
    assertThatThrownBy(() -> new DataRef("file:///s", "sha256:" + "0".repeat(64), 1, 2, files))
        .hasMessageContaining("does not match its manifest");
  }

  @Test
  void model_refs_parse_name_at_version() {
    assertThat(ModelRef.parse("churn@3")).isEqualTo(new ModelRef("churn", "3"));
    assertThatThrownBy(() -> ModelRef.parse("churn")).hasMessageContaining("<name>@<version>");
    assertThatThrownBy(() -> ModelRef.parse("../x@1")).isInstanceOf(TimemachineException.class);
  }

  @Test
  void tolerances_follow_the_isclose_rule() {
    assertThat(Tolerance.EXACT.within(0.9, 0.9)).isTrue();
    assertThat(Tolerance.EXACT.within(0.9, 0.9000001)).isFalse();
    assertThat(Tolerance.parse("abs:0.01").within(0.9, 0.909)).isTrue();
    assertThat(Tolerance.parse("abs:0.01").within(0.9, 0.92)).isFalse();
    assertThat(Tolerance.parse("rel:0.1").within(100, 109)).isTrue();
    assertThat(Tolerance.parse("abs:0.5,rel:0.01").within(100, 100.9)).as("the larger bound wins").isTrue();
    assertThat(Tolerance.parse("abs:1").within(Double.NaN, Double.NaN)).isFalse();
    assertThatThrownBy(() -> Tolerance.parse("abs:-1")).hasMessageContaining(">= 0");
    assertThatThrownBy(() -> Tolerance.parse("pct:1")).hasMessageContaining("unknown bound");
  }

  @Test
  void a_tolerance_for_an_unrecorded_metric_is_rejected() {
    FileEntry model = new FileEntry("model.pkl", 1, HEX);
    assertThatThrownBy(() -> new RecordedOutputs(List.of(model), null, Map.of("f1", 0.5), Map.of("auc", Tolerance.EXACT)))
        .hasMessageContaining("'auc', which was not recorded");
  }

  @Test
  void a_model_version_survives_a_json_round_trip_and_ignores_unknown_fields() {
    ModelVersion version =
        ModelVersion.of(
            new ModelRef("churn", "1"),
            new Triplet(
                new CodeRef("file:///repo", "0".repeat(40), List.of("python3", "train.py"), "src"),
                new EnvironmentRef(ImageRef.parse("reg/x@sha256:" + HEX)),
                DataRef.of("s3://b/snapshots/x", List.of(new FileEntry("a.csv", 2, HEX)))),
            new RecordedOutputs(List.of(new FileEntry("model.pkl", 1, HEX)), null, Map.of("f1", 0.5),
                Map.of("f1", Tolerance.parse("abs:0.01"))),
            Instant.parse("2026-11-24T00:00:00Z"));
    String json = Json.toString(version);
    assertThat(json).contains("\"image\" : \"reg/x@sha256:" + HEX + "\"").contains("\"registeredAt\" : \"2026-11-24T00:00:00Z\"");
    String withExtra = json.replaceFirst("\\{", "{ \"addedInV2\" : true,");
    assertThat(Json.parse(withExtra.getBytes(StandardCharsets.UTF_8), ModelVersion.class, "test")).isEqualTo(version);
  }

  @Test
  void malformed_json_is_invalid_input_naming_the_document() {
    assertThatThrownBy(() -> Json.parse("{".getBytes(StandardCharsets.UTF_8), ModelVersion.class, "s3://b/models/x.json"))
        .isInstanceOf(TimemachineException.class)
        .hasMessageStartingWith("s3://b/models/x.json is not a valid ModelVersion");
  }
}
