package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * Input of {@link DownstreamBacktestWorkflow}: one backtest per downstream model, each already carrying
 * the new upstream artifact as its override, run as child workflows at most {@code concurrency} at a time.
 *
 * @param upstream the new upstream version, {@code encoder@3}
 * @param replaced per backtest (same order), what it swaps: {@code encoder=encoder@1:encoder.pkl -> encoder@3}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record DownstreamRequest(
    String id, String upstream, List<BacktestRequest> backtests, List<String> replaced, int concurrency) {
  public DownstreamRequest {
    backtests = backtests == null ? List.of() : List.copyOf(backtests);
    replaced = replaced == null ? List.of() : List.copyOf(replaced);
    concurrency = Math.max(1, concurrency);
  }
}
