package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TimingsTest {
  @Test
  void eachPhaseIsTheTimeSinceThePreviousMark() throws InterruptedException {
    Timings.start();
    Timings.mark("first");
    Thread.sleep(120);
    Timings.mark("second");

    String line = Timings.line();

    assertThat(line).matches("timings: jvm \\d+ ms, .*first \\d+ ms, second \\d+ ms");
    long second = Long.parseLong(line.replaceAll(".*second (\\d+) ms$", "$1"));
    assertThat(second).isBetween(120L, 5_000L);
  }
}
