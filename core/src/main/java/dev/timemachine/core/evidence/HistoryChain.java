package dev.timemachine.core.evidence;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.ports.ObjectStore;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The append-only verdict history of one model version: {@code history/<model>/<version>/<seq>.json},
 * seq from 1, each record naming the sha256 of the one before it, each written with
 * {@link ObjectStore#putIfAbsent} (so two replays appending at once cannot both take a seq: the loser
 * reads the chain again and takes the next). Deleting, reordering or editing a record breaks the
 * chain at that record, and {@link #check} names it; each record is also checked against its report
 * and attestation, which catches an edit of the newest record, the one no successor pins.
 */
public final class HistoryChain {
  public static final String SCHEMA = "timemachine.history-record/v1";
  private static final Pattern SEQ_FILE = Pattern.compile(".*/(\\d{8})\\.json");
  private static final int APPEND_ATTEMPTS = 20;

  private final ObjectStore store;

  public HistoryChain(ObjectStore store) {
    this.store = store;
  }

  /** One replay in the history. {@code previousSha256} is null for the first record. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonPropertyOrder({"schema", "seq", "model", "replayId", "modelSpec", "verdict", "finishedAt", "reportSha256",
      "attestationSha256", "metricDeltas", "previousSha256"})
  public record Record(
      String schema, long seq, ModelRef model, String replayId, String modelSpec, String verdict, String finishedAt,
      String reportSha256, String attestationSha256, Map<String, Double> metricDeltas, String previousSha256) {}

  public static String prefix(ModelRef model) {
    return "history/" + model.name() + "/" + model.version() + "/";
  }

  public static String key(ModelRef model, long seq) {
    return prefix(model) + String.format("%08d.json", seq);
  }

  /**
   * How many of the newest records an append reads to find its own replay from an earlier attempt: a
   * retried activity comes back within minutes, and more than this many other replays of one model
   * finishing in between would take a fleet replaying that model dozens of times at once.
   */
  static final int RETRY_WINDOW = 32;

  /**
   * Appends the record of a replay (seq and previous digest are filled in here) and returns its key;
   * a replay already among the newest {@value #RETRY_WINDOW} records (a retried activity) is not
   * appended twice. Reads at most that many records, however long the chain: a model replayed every
   * night for years must not cost thousands of reads per replay.
   */
  public String append(Record record) {
    for (int attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
      List<String> keys = keys(record.model());
      byte[] last = null;
      for (int i = keys.size() - 1; i >= Math.max(0, keys.size() - RETRY_WINDOW); i--) {
        String k = keys.get(i);
        byte[] bytes = store.getBytes(k);
        if (record.replayId().equals(Json.parse(bytes, Record.class, store.uriOf(k)).replayId())) {
          return k;
        }
        if (last == null) {
          last = bytes;
        }
      }
      long seq = keys.isEmpty() ? 1 : seqOf(keys.get(keys.size() - 1)) + 1;
      Record linked = new Record(SCHEMA, seq, record.model(), record.replayId(), record.modelSpec(), record.verdict(),
          record.finishedAt(), record.reportSha256(), record.attestationSha256(), record.metricDeltas(),
          last == null ? null : Digests.sha256Hex(last));
      String key = key(record.model(), seq);
      if (store.putIfAbsent(key, Json.toBytes(linked))) {
        return key;
      }
    }
    throw TimemachineException.unavailable(
        "could not append to " + store.uriOf(prefix(record.model())) + " after " + APPEND_ATTEMPTS + " attempts", null);
  }

  /** A record as read, with the problem found at it (null if none). */
  public record Entry(String key, Record record, String problem) {}

  /** Every record, oldest first, each with the first problem found at it. */
  public List<Entry> check(ModelRef model) {
    List<Entry> entries = new ArrayList<>();
    String previousDigest = null;
    long expected = 1;
    for (String key : keys(model)) {
      long seq = seqOf(key);
      byte[] bytes = store.getBytes(key);
      Record record;
      try {
        record = Json.parse(bytes, Record.class, store.uriOf(key));
      } catch (TimemachineException e) {
        entries.add(new Entry(key, null, "record " + key + " is not a history record: " + e.getMessage()));
        previousDigest = Digests.sha256Hex(bytes);
        expected = seq + 1;
        continue;
      }
      String problem = null;
      if (seq != expected) {
        problem = "record " + String.format("%08d", expected) + (seq > expected ? " is missing (deleted)" : " appears twice");
      } else if (record.seq() != seq) {
        problem = "record " + key + " says seq " + record.seq() + " (moved or reordered)";
      } else if (entries.isEmpty() && record.previousSha256() != null) {
        problem = "record " + key + " names a previous record but is the first: the records before it were deleted";
      } else if (!java.util.Objects.equals(previousDigest, record.previousSha256())) {
        // The record before this one changed after this one pinned it (or this one's pin was edited):
        // the break is named at the earlier record, the one an edit most likely touched.
        Entry before = entries.get(entries.size() - 1);
        String why = "record " + before.key() + " was edited after " + key + " pinned it (its sha256 is "
            + previousDigest + ", " + key + " says previousSha256 " + record.previousSha256() + ")";
        if (before.problem() == null) {
          entries.set(entries.size() - 1, new Entry(before.key(), before.record(), why));
        }
        problem = why;
      } else {
        problem = againstEvidence(key, record);
      }
      entries.add(new Entry(key, record, problem));
      previousDigest = Digests.sha256Hex(bytes);
      expected = seq + 1;
    }
    return entries;
  }

  /** The record's digests and verdict against the report and attestation it names. */
  private String againstEvidence(String key, Record record) {
    String reportKey = ReplayStatement.reportKey(record.replayId());
    String attestationKey = ReplayStatement.attestationKey(record.replayId());
    byte[] report;
    try {
      report = store.getBytes(reportKey);
    } catch (TimemachineException e) {
      return e.type() == ErrorType.NOT_FOUND ? "record " + key + ": its report " + reportKey + " is missing" : rethrow(e);
    }
    if (!Digests.sha256Hex(report).equals(record.reportSha256())) {
      return "record " + key + ": reportSha256 does not match " + reportKey;
    }
    String verdict = ReplayStatement.tree(report, reportKey).path("verdict").asText();
    if (!verdict.equals(record.verdict())) {
      return "record " + key + ": verdict " + record.verdict() + " differs from the report's " + verdict;
    }
    if (record.attestationSha256() != null) {
      try {
        if (!Digests.sha256Hex(store.getBytes(attestationKey)).equals(record.attestationSha256())) {
          return "record " + key + ": attestationSha256 does not match " + attestationKey;
        }
      } catch (TimemachineException e) {
        return e.type() == ErrorType.NOT_FOUND ? "record " + key + ": its attestation " + attestationKey + " is missing" : rethrow(e);
      }
    }
    return null;
  }

  private static String rethrow(TimemachineException e) {
    throw e;
  }

  private List<String> keys(ModelRef model) {
    List<String> keys = new ArrayList<>();
    for (String k : store.list(prefix(model))) {
      if (SEQ_FILE.matcher(k).matches() && k.substring(prefix(model).length()).indexOf('/') < 0) {
        keys.add(k);
      }
    }
    keys.sort(null);
    return keys;
  }

  private static long seqOf(String key) {
    Matcher m = SEQ_FILE.matcher(key);
    if (!m.matches()) {
      throw new IllegalArgumentException(key);
    }
    return Long.parseLong(m.group(1));
  }
}
