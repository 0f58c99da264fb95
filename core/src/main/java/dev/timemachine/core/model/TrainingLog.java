package dev.timemachine.core.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * Where the whole log of a training run was kept, and its digest, so that the report's bounded tail
 * can be checked against, and completed by, the stored log.
 *
 * @param uri the stored log, next to the rebuilt outputs
 * @param sha256 of the stored bytes
 * @param bytes the size of the whole log as the container printed it
 * @param lines the number of lines the container printed
 * @param truncated true if the stored log stopped at its size bound (it then says so in its last line)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonPropertyOrder({"uri", "sha256", "bytes", "lines", "truncated"})
public record TrainingLog(String uri, String sha256, long bytes, long lines, boolean truncated) {}
