package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.timemachine.core.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10 item 6's check with a real browser: a real {@code demo} replay and a report whose metric
 * and artifact names are hostile HTML, rendered by {@code timemachine report --html} and opened in
 * Debian's headless Chromium; the dumped DOM must show the verdict, triplet, tables and signature
 * status, and the hostile names as text, and a screenshot must come out. Chromium missing is a
 * failure, never a skip ({@code scripts/services.sh} installs it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class HtmlReportIT {
  private static final Path JAR = Path.of("target/timemachine.jar");
  private static final String IMG = "<img src=x onerror=alert(1)>";
  private static final String SCRIPT = "<script>alert(1)</script>";

  @TempDir static Path tmp;
  private Path home;
  private Path store;
  private String replayId;
  private JsonNode report;

  record Result(int exit, String out, String err) {}

  private Result run(List<String> command) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command);
    Map<String, String> env = pb.environment();
    env.remove("TEMPORAL_ADDRESS");
    env.remove("TIMEMACHINE_STORE");
    env.remove("TIMEMACHINE_SIGNING_KEY");
    env.put("TIMEMACHINE_HOME", home.toString());
    Path out = tmp.resolve("out-" + System.nanoTime());
    Path err = tmp.resolve("err-" + System.nanoTime());
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).as("%s finished", command).isTrue();
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private Result cli(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    return run(command);
  }

  private static String chromium() throws Exception {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, "chromium"))) {
        return Path.of(dir, "chromium").toString();
      }
    }
    throw new AssertionError("chromium is not installed: run scripts/services.sh (it installs Debian's chromium)");
  }

  private Result browser(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(chromium(), "--headless", "--no-sandbox", "--disable-gpu",
        "--user-data-dir=" + tmp.resolve("chromium-profile")));
    command.addAll(List.of(args));
    Result r = run(command);
    assertThat(r.exit()).as("chromium %s: %s", List.of(args), r.err()).isZero();
    return r;
  }

  /** The DOM after Chromium parsed the page (and would have run any script it created). */
  private String dom(Path page) throws Exception {
    return browser("--dump-dom", page.toUri().toString()).out();
  }

  @BeforeAll
  void a_demo_on_a_fresh_home() throws Exception {
    assertThat(JAR).as("the packaged CLI (mvn package runs before the integration tests)").exists();
    chromium();
    home = tmp.resolve("home");
    Result demo = cli("demo");
    assertThat(demo.exit()).as("demo (needs scripts/services.sh up): %s", demo.err()).isZero();
    store = home.resolve("store");
    try (Stream<Path> reports = Files.list(store.resolve("reports"))) {
      replayId = reports.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".intoto.json")).findFirst()
          .orElseThrow().replace(".intoto.json", "");
    }
    report = Json.mapper().readTree(store.resolve("reports/" + replayId + ".json").toFile());
  }

  @Test
  void the_report_of_a_real_replay_shows_verdict_triplet_tables_and_signature_in_a_browser() throws Exception {
    Path page = tmp.resolve("report.html");
    Result r = cli("report", replayId, "--html", page.toString());
    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("stored:", "reports/" + replayId + ".html", "written:", "signature valid");
    assertThat(store.resolve("reports/" + replayId + ".html")).as("stored next to the JSON").hasSameBinaryContentAs(page);

    String dom = dom(page);
    String keyid = Json.mapper().readTree(store.resolve("reports/" + replayId + ".intoto.json").toFile())
        .path("signatures").get(0).path("keyid").asText();
    assertThat(dom).contains(
        "REPRODUCED_BITWISE", "Every recorded artifact came back byte-for-byte identical.",
        report.at("/triplet/code/commit").asText(),
        report.at("/triplet/environment/image").asText().substring(report.at("/triplet/environment/image").asText().indexOf("sha256:")),
        report.at("/triplet/data/rootDigest").asText(),
        "model.pkl", report.at("/artifacts/0/recordedSha256").asText(),
        "accuracy", "roc_auc", "exact",
        "signed by " + keyid + ", signature valid",
        "timemachine verify " + replayId);

    Path png = tmp.resolve("report.png");
    browser("--screenshot=" + png, "--window-size=1200,1600", page.toUri().toString());
    assertThat(Files.size(png)).as("screenshot bytes").isGreaterThan(10_000);
    assertThat(Files.readAllBytes(png)).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
    String keep = System.getProperty("timemachine.screenshot");
    if (keep != null && !keep.isBlank()) {
      Files.copy(png, Path.of(keep), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    Result again = cli("report", replayId);
    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(again.out()).contains("already there, same bytes");
  }

  @Test
  void hostile_metric_and_artifact_names_render_as_text_and_a_broken_signature_says_INVALID() throws Exception {
    String hostileId = replayId + "-hostile";
    ObjectNode copy = report.deepCopy();
    copy.put("replayId", hostileId);
    ((ObjectNode) copy.path("metrics").get(0)).put("name", IMG);
    ((ObjectNode) copy.path("metrics").get(1)).put("name", SCRIPT);
    ((ObjectNode) copy.path("artifacts").get(0)).put("path", IMG);
    ((ObjectNode) copy.path("artifacts").get(1)).put("path", SCRIPT);
    Files.write(store.resolve("reports/" + hostileId + ".json"), Json.mapper().writeValueAsBytes(copy));
    // The genuine attestation with one letter of its signature changed.
    ObjectNode envelope = (ObjectNode) Json.mapper().readTree(store.resolve("reports/" + replayId + ".intoto.json").toFile());
    ObjectNode signature = (ObjectNode) envelope.path("signatures").get(0);
    String sig = signature.path("sig").asText();
    signature.put("sig", (sig.charAt(0) == 'A' ? "B" : "A") + sig.substring(1));
    Files.write(store.resolve("reports/" + hostileId + ".intoto.json"), Json.mapper().writeValueAsBytes(envelope));

    Path page = tmp.resolve("hostile.html");
    Result r = cli("report", hostileId, "--html", page.toString());
    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("signature INVALID");
    String dom = dom(page);

    assertThat(dom).as("the hostile names are text").contains("&lt;img src=x onerror=alert(1)&gt;",
        "&lt;script&gt;alert(1)&lt;/script&gt;");
    assertThat(dom).as("no element was created from them").doesNotContain("<img src=\"x\"", "<img", "<script", "onerror=\"alert");
    assertThat(dom).contains("signature INVALID", "REPRODUCED_BITWISE");
  }

  @Test
  void a_different_page_for_a_stored_report_leaves_the_stored_one_and_says_so() throws Exception {
    String id = replayId + "-kept";
    Files.copy(store.resolve("reports/" + replayId + ".json"), store.resolve("reports/" + id + ".json"));
    Files.writeString(store.resolve("reports/" + id + ".html"), "an older page", StandardCharsets.UTF_8);
    Result r = cli("report", id);
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("kept:", "different bytes", "no attestation at");
    assertThat(store.resolve("reports/" + id + ".html")).hasContent("an older page");
  }

  @Test
  void an_attestation_without_signatures_reads_UNSIGNED() throws Exception {
    String id = replayId + "-unsigned";
    Files.copy(store.resolve("reports/" + replayId + ".json"), store.resolve("reports/" + id + ".json"));
    ObjectNode envelope = (ObjectNode) Json.mapper().readTree(store.resolve("reports/" + replayId + ".intoto.json").toFile());
    envelope.putArray("signatures");
    Files.write(store.resolve("reports/" + id + ".intoto.json"), Json.mapper().writeValueAsBytes(envelope));
    Path page = tmp.resolve("unsigned.html");
    Result r = cli("report", id, "--html", page.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(dom(page)).contains("UNSIGNED").doesNotContain("signature valid");
  }
}
