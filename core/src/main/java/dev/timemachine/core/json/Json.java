package dev.timemachine.core.json;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.nio.charset.StandardCharsets;

/**
 * The one JSON form of persisted documents (model versions, snapshot manifests, reports): indented,
 * map keys sorted, instants as ISO-8601 strings, nulls omitted. Sorted keys make equal documents
 * byte-identical, which the write-once checks rely on.
 */
public final class Json {
  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .addModule(new Jdk8Module())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .enable(SerializationFeature.INDENT_OUTPUT)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .serializationInclusion(JsonInclude.Include.NON_NULL)
          .build();

  private Json() {}

  public static ObjectMapper mapper() {
    return MAPPER;
  }

  public static byte[] toBytes(Object value) {
    try {
      byte[] body = MAPPER.writeValueAsBytes(value);
      byte[] withNewline = java.util.Arrays.copyOf(body, body.length + 1);
      withNewline[body.length] = '\n';
      return withNewline;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialize " + value.getClass().getSimpleName(), e);
    }
  }

  public static String toString(Object value) {
    return new String(toBytes(value), StandardCharsets.UTF_8);
  }

  /** Parses a document; a malformed one is {@code INVALID_INPUT} naming {@code what}. */
  public static <T> T parse(byte[] json, Class<T> type, String what) {
    try {
      return MAPPER.readValue(json, type);
    } catch (TimemachineException e) {
      throw e;
    } catch (java.io.IOException e) {
      Throwable cause = e.getCause();
      if (cause instanceof TimemachineException te) {
        throw te;
      }
      throw TimemachineException.invalidInput(what + " is not a valid " + type.getSimpleName() + ": " + e.getMessage().lines().findFirst().orElse(""));
    }
  }
}
