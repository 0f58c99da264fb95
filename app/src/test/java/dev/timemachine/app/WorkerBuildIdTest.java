package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class WorkerBuildIdTest {
  @TempDir Path tmp;

  private static String sha256(byte[] bytes) throws Exception {
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  void the_jar_is_hashed_once_and_again_only_when_it_changes() throws Exception {
    Path jar = tmp.resolve("timemachine.jar");
    byte[] v1 = "the first build".getBytes();
    Files.write(jar, v1);

    assertThat(SigningKeys.buildIdOf(jar)).isEqualTo(sha256(v1));
    Path kept = tmp.resolve("timemachine.jar.sha256");
    assertThat(kept).exists();

    // The kept id is what a second process reads, without hashing: shown by planting another id under the same stamp.
    String planted = "sha256:" + "ab".repeat(32);
    String stamp = Files.readString(kept).strip().split(" ")[0];
    Files.writeString(kept, stamp + " " + planted + "\n");
    assertThat(SigningKeys.buildIdOf(jar)).isEqualTo(planted);

    // A rebuilt jar (new size and time) is hashed again, and its id kept in place of the old one.
    byte[] v2 = "the second, longer build".getBytes();
    Files.write(jar, v2);
    assertThat(SigningKeys.buildIdOf(jar)).isEqualTo(sha256(v2));
    assertThat(Files.readString(kept)).contains(sha256(v2)).doesNotContain(planted);

    // A kept file that is not one of ours is ignored.
    Files.writeString(kept, "garbage\n");
    assertThat(SigningKeys.buildIdOf(jar)).isEqualTo(sha256(v2));
  }
}
