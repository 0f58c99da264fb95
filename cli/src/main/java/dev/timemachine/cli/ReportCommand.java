package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.evidence.Dsse;
import dev.timemachine.core.evidence.ReplayStatement;
import dev.timemachine.core.evidence.Verification;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.report.HtmlReport;
import dev.timemachine.core.report.ReplayReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code timemachine report <replayId> [--html FILE]}: the human report, one self-contained HTML page
 * for an auditor, written write-once to the store as {@code reports/<replayId>.html} next to the JSON
 * (and to FILE if given). The signature status is the attestation's, checked with the store's key.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = {"Renders a replay's report as one self-contained HTML page (verdict, triplet, input checks, artifact and",
        "metric tables, log tail, durations, signature status, the verify command), stores it write-once as",
        "reports/<replayId>.html next to the JSON, and writes it to FILE with --html."})
public final class ReportCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "REPLAY", description = "The replay id.")
  String replayId;

  @Option(names = "--html", paramLabel = "FILE", description = "Also write the page to FILE (replaced if it exists).")
  Path html;

  @Override
  public Integer call() throws IOException {
    ReplayIds.require(replayId);
    try (Components components = new Components(Config.fromEnvironment())) {
      ObjectStore store = components.store();
      String reportKey = ReplayStatement.reportKey(replayId);
      ReplayReport report = Json.parse(store.getBytes(reportKey), ReplayReport.class, store.uriOf(reportKey));
      HtmlReport.Signature signature = signature(store, ReplayStatement.attestationKey(replayId));
      byte[] page = HtmlReport.render(report, signature, "timemachine verify " + replayId, store.uriOf(reportKey))
          .getBytes(StandardCharsets.UTF_8);

      var out = spec.commandLine().getOut();
      String htmlKey = htmlKey(replayId);
      if (store.putIfAbsent(htmlKey, page)) {
        out.printf("stored:    %s%n", store.uriOf(htmlKey));
      } else if (Arrays.equals(store.getBytes(htmlKey), page)) {
        out.printf("stored:    %s (already there, same bytes)%n", store.uriOf(htmlKey));
      } else {
        out.printf("kept:      %s (already stored with different bytes, e.g. an older signature status; left as it is)%n",
            store.uriOf(htmlKey));
      }
      if (html != null) {
        Path parent = html.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        Files.write(html, page);
        out.printf("written:   %s%n", html);
      }
      out.printf("verdict:   %s%n", report.verdict());
      out.printf("signature: %s%n", signature.text());
      out.flush();
      return 0;
    }
  }

  /** Where the HTML report of a replay is stored, next to its JSON. */
  static String htmlKey(String replayId) {
    return "reports/" + ReplayIds.require(replayId) + ".html";
  }

  private static HtmlReport.Signature signature(ObjectStore store, String attestationKey) {
    byte[] envelope;
    try {
      envelope = store.getBytes(attestationKey);
    } catch (TimemachineException e) {
      if (e.type() == ErrorType.NOT_FOUND) {
        return HtmlReport.Signature.missing(store.uriOf(attestationKey));
      }
      throw e;
    }
    Verification.Check check = Verification.signature(envelope, store, null);
    if (check.passed()) {
      Dsse.Envelope parsed = Json.parse(envelope, Dsse.Envelope.class, attestationKey);
      return HtmlReport.Signature.valid(parsed.signatures().get(0).keyid());
    }
    if ("signatures".equals(check.field())) {
      return HtmlReport.Signature.unsigned();
    }
    return HtmlReport.Signature.invalid(check.detail());
  }
}
