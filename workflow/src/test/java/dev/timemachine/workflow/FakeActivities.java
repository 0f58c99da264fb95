package dev.timemachine.workflow;

import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.grading.Comparison;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputCheck;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.model.TrainingSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Unit-test stand-ins for the activities, so that workflow tests exercise every verdict path quickly.
 * The real activities run against real services in the integration tests of the worker module.
 */
final class FakeActivities {
  private FakeActivities() {}

  static final class Control implements ControlActivities {
    Supplier<ModelVersion> resolve;
    final List<ReplayReport> reports = Collections.synchronizedList(new ArrayList<>());
    final List<String> verdictsRecorded = Collections.synchronizedList(new ArrayList<>());
    /** What recordVerdict throws, if anything (e.g. a registry that refuses the write). */
    RuntimeException verdictFailure;
    /** What compare throws, if anything. */
    RuntimeException compareFailure;
    /** What writeReport throws, if anything (e.g. a report store that is down). */
    RuntimeException reportFailure;
    final AtomicInteger resolveCalls = new AtomicInteger();
    final AtomicInteger reportCalls = new AtomicInteger();

    Control(Supplier<ModelVersion> resolve) {
      this.resolve = resolve;
    }

    @Override
    public ModelVersion resolve(String modelSpec) {
      resolveCalls.incrementAndGet();
      return resolve.get().forWorkflow();
    }

    @Override
    public Comparison compare(RecordedOutputs recorded, TrainingResult rebuilt) {
      if (compareFailure != null) {
        throw compareFailure;
      }
      return Comparison.of(recorded, rebuilt);
    }

    @Override
    public String writeReport(ReplayReport report) {
      reportCalls.incrementAndGet();
      if (reportFailure != null) {
        throw reportFailure;
      }
      reports.add(report);
      return "file:///store/reports/" + report.replayId() + ".json";
    }

    @Override
    public void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {
      if (verdictFailure != null) {
        throw verdictFailure;
      }
      verdictsRecorded.add(modelSpec + "=" + report.verdict());
    }
  }

  static final class Training implements TrainingActivities {
    Supplier<InputCheck> code = () -> new InputCheck("HEAD " + Fixtures.COMMIT);
    Supplier<InputCheck> image = () -> new InputCheck("image verified");
    Supplier<InputCheck> data = () -> new InputCheck("1 file verified");
    Supplier<TrainingResult> train;
    Supplier<String> hostQueue = () -> ReplayWorkflowTest.TRAINING_QUEUE;
    final AtomicInteger trainCalls = new AtomicInteger();
    final AtomicInteger imageCalls = new AtomicInteger();
    final List<String> cleaned = Collections.synchronizedList(new ArrayList<>());

    /** What the explain step finds: by default a metadata-only difference of every differing artifact. */
    java.util.function.Function<ExplainSpec, dev.timemachine.core.grading.Explanation> explain = spec ->
        new dev.timemachine.core.grading.Explanation(List.of(), spec.recorded().artifacts().stream()
            .map(a -> new dev.timemachine.core.grading.Explanation.ArtifactDiff(a.path(), "text", false,
                "1 line(s) differ", null, null, null, null, null)).toList(), null, List.of(), List.of());
    /** The probes' runs: by default each differs from the first rebuild (nondeterministic). */
    java.util.function.Function<ProbeSpec, dev.timemachine.core.grading.Explanation.ProbeRun> probe = spec ->
        new dev.timemachine.core.grading.Explanation.ProbeRun(spec.variation(), 1,
            spec.recorded().stream().map(dev.timemachine.core.model.FileEntry::path).toList(),
            spec.recorded().stream().map(dev.timemachine.core.model.FileEntry::path).toList(), java.util.Map.of(), null);
    final List<String> probes = Collections.synchronizedList(new ArrayList<>());

    Training(Supplier<TrainingResult> train) {
      this.train = train;
    }

    @Override
    public dev.timemachine.core.grading.Explanation explain(ExplainSpec spec) {
      return explain.apply(spec);
    }

    @Override
    public dev.timemachine.core.grading.Explanation.ProbeRun probe(ProbeSpec spec) {
      probes.add(spec.variation());
      return probe.apply(spec);
    }

    @Override
    public String hostTaskQueue() {
      return hostQueue.get();
    }

    @Override
    public InputCheck checkoutCode(String replayId, CodeRef code) {
      return this.code.get();
    }

    @Override
    public InputCheck pullImage(String replayId, ImageRef image) {
      imageCalls.incrementAndGet();
      return this.image.get();
    }

    @Override
    public InputCheck restoreData(String replayId, DataRef data) {
      return this.data.get();
    }

    /** The upstream artifacts the last training was given. */
    volatile List<dev.timemachine.core.model.UpstreamRef> upstreamTrained;

    /** The upstream artifacts each restoreDataAndUpstream was asked for, by replay id. */
    final java.util.Map<String, List<dev.timemachine.core.model.UpstreamRef>> upstreamRestored =
        new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public InputCheck restoreDataAndUpstream(
        String replayId, DataRef data, List<dev.timemachine.core.model.UpstreamRef> upstream) {
      upstreamRestored.put(replayId, upstream);
      return this.data.get();
    }

    @Override
    public TrainingResult train(TrainingSpec spec) {
      upstreamTrained = spec.upstream();
      trainCalls.incrementAndGet();
      return train.get();
    }

    @Override
    public void cleanup(String replayId) {
      cleaned.add(replayId);
    }
  }
}
