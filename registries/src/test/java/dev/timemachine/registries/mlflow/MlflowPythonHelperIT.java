package dev.timemachine.registries.mlflow;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

/**
 * Runs the Python helper's own tests (registries/src/test/python/test_timemachine_mlflow.py) with the MLflow that
 * scripts/mlflow.sh installs, so that they count in every build: the recording side of the
 * conventions is tested in Python, the reading side in Java, and both against the same MLflow.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MlflowPythonHelperIT {
  private static final Pattern RAN = Pattern.compile("^Ran ([0-9]+) tests? in ", Pattern.MULTILINE);

  @Test
  void the_python_helpers_unit_tests_pass_with_the_pinned_mlflow() throws Exception {
    Path root = MlflowRegistryIT.repositoryRoot();
    Path log = Files.createTempFile("timemachine-python-tests", ".log");
    ProcessBuilder builder =
        new ProcessBuilder(
                List.of(MlflowRegistryIT.venvPython().toString(), "-m", "unittest", "discover", "-v", "-s", "registries/src/test/python"))
            .directory(root.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    builder.environment().put("MLFLOW_DISABLE_TELEMETRY", "true");
    builder.environment().put("PYTHONDONTWRITEBYTECODE", "1");
    Process process = builder.start();
    assertThat(process.waitFor(10, TimeUnit.MINUTES)).as("python -m unittest finished").isTrue();
    String output = Files.readString(log, StandardCharsets.UTF_8);
    // The Python results in the build log, where CI readers look for them.
    System.out.println(output);

    assertThat(process.exitValue()).as("python -m unittest exit code; output:%n%s", output).isZero();
    Matcher ran = RAN.matcher(output);
    assertThat(ran.find()).as("a 'Ran N tests' line in:%n%s", output).isTrue();
    assertThat(Integer.parseInt(ran.group(1))).as("Python tests run").isGreaterThanOrEqualTo(9);
    assertThat(output).as("no Python test skipped").doesNotContain("skipped");
    assertThat(output.strip()).endsWith("OK");
  }
}
