# The timemachine worker and CLI image, built from this repository in two stages: the Maven wrapper
# builds the shaded jar (cli/target/timemachine.jar) in a JDK image, and only that jar goes into
# a JRE image. `docker-compose build` (or `docker build -t timemachine/worker:local .`) works on a
# clean clone; the build stage downloads Maven and the dependencies from Maven Central.
#
# Both base images are build arguments with pinned defaults, so the image can also be built where
# Docker Hub is out of reach, from bases made locally (README.md, "Run it for your team"), e.g. a
# Debian root file system with openjdk-17-jdk-headless and a filled ~/.m2 for the build stage:
#   docker build --network none \
#     --build-arg BUILD_IMAGE=local/jdk17-m2 --build-arg RUNTIME_IMAGE=local/jre17 \
#     --build-arg MAVEN_FLAGS=--offline -t timemachine/worker:local .
# The build base needs a JDK 17+ (the wrapper fetches Maven unless ~/.m2/wrapper has it); the runtime
# base needs a Java 17+ runtime on PATH, bash (the compose healthcheck) and useradd.
ARG BUILD_IMAGE=eclipse-temurin:17.0.19_10-jdk-noble
ARG RUNTIME_IMAGE=eclipse-temurin:17.0.19_10-jre-noble

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Extra Maven flags, e.g. --offline with a base that carries a filled ~/.m2.
ARG MAVEN_FLAGS=
COPY . .
RUN ./mvnw -B -q -DskipTests ${MAVEN_FLAGS} package -pl cli -am \
 && cp cli/target/timemachine.jar /timemachine.jar

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="timemachine worker" \
      org.opencontainers.image.description="Re-trains registered ML model versions from their recorded triplet and grades the result."
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/timemachine --create-home timemachine
COPY --from=build /timemachine.jar /opt/timemachine/timemachine.jar
# In a container the metrics endpoint must listen beyond loopback to be reachable at all; publish
# its port only where you want it (docker-compose.yml binds it to 127.0.0.1).
ENV TIMEMACHINE_HOME=/var/lib/timemachine \
    TIMEMACHINE_METRICS_HOST=0.0.0.0 \
    TIMEMACHINE_METRICS_PORT=9464
USER timemachine
WORKDIR /var/lib/timemachine
EXPOSE 9464
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-jar", "/opt/timemachine/timemachine.jar"]
CMD ["worker", "--queues", "control,training"]
