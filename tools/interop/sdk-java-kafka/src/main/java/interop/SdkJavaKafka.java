// Command sdk-java-kafka is the official CloudEvents Java SDK's Kafka binding
// (io.cloudevents:cloudevents-kafka, the one upstream Knative's Kafka broker, sink and channel data
// plane use) wrapped for interoperability tests. No broker is involved: it runs the SDK's
// serializer and deserializer on records held in memory.
//
//   sdk-java-kafka write   stdin:  [{"attributes": {name: string}, "extensions": {name: string|int|bool},
//                                    "data_base64"?: string}, ...]
//                          stdout: [{"binary": Record, "structured": Record} | {"error": string}, ...]
//                          Each event goes through PartitionKeyExtensionInterceptor.onSend (the record key)
//                          and CloudEventSerializer.serialize in BINARY and STRUCTURED (JSON) encoding.
//   sdk-java-kafka read    stdin:  [Record, ...]
//                          stdout: [{"ok": true, "event": Event} | {"ok": false, "error": string}, ...]
//                          Each record goes through CloudEventDeserializer.deserialize.
//
// Record = {"key": string|null, "key_type"?: string, "headers": [[name, base64|null], ...], "value": base64|null}
//          (headers in record order, repeats kept).
// Event  = {"attributes": {name: string}, "extensions": {name: string|int|bool}, "data_base64"?: string,
//           "data_class": string}: attributes as the SDK's canonical strings, extensions with the Java
//           type the SDK holds them as, data as the exact bytes CloudEventData.toBytes() returns.
package interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cloudevents.CloudEvent;
import io.cloudevents.CloudEventData;
import io.cloudevents.SpecVersion;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.jackson.JsonFormat;
import io.cloudevents.kafka.CloudEventDeserializer;
import io.cloudevents.kafka.CloudEventSerializer;
import io.cloudevents.kafka.PartitionKeyExtensionInterceptor;
import io.cloudevents.types.Time;
import java.io.IOException;
import java.net.URI;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

public final class SdkJavaKafka {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOPIC = "interop";

  public static void main(String[] args) throws IOException {
    if (args.length != 1 || !(args[0].equals("write") || args[0].equals("read"))) {
      System.err.println("usage: sdk-java-kafka write|read  (JSON array on stdin, JSON array on stdout)");
      System.exit(2);
    }
    JsonNode input = JSON.readTree(System.in);
    if (input == null || !input.isArray()) {
      System.err.println("sdk-java-kafka: stdin must be a JSON array");
      System.exit(2);
    }
    ArrayNode out = JSON.createArrayNode();
    for (JsonNode item : input) out.add(args[0].equals("write") ? write(item) : read(item));
    // Bytes, not a PrintStream: the platform charset may not be UTF-8.
    System.out.write(JSON.writeValueAsBytes(out));
    System.out.write('\n');
    System.out.flush();
  }

  // ---- write ----

  private static ObjectNode write(JsonNode in) {
    ObjectNode result = JSON.createObjectNode();
    try {
      CloudEvent event = eventOf(in);
      result.set("binary", serialize(event, Map.of(CloudEventSerializer.ENCODING_CONFIG, "BINARY")));
      result.set(
          "structured",
          serialize(
              event,
              Map.of(
                  CloudEventSerializer.ENCODING_CONFIG, "STRUCTURED",
                  CloudEventSerializer.EVENT_FORMAT_CONFIG, JsonFormat.CONTENT_TYPE)));
    } catch (RuntimeException e) {
      result.removeAll();
      result.put("error", errorOf(e));
    }
    return result;
  }

  /** Builds the event as a producer would: attributes as strings, extensions typed, data as bytes. */
  private static CloudEvent eventOf(JsonNode in) {
    JsonNode attributes = in.path("attributes");
    CloudEventBuilder builder =
        CloudEventBuilder.fromSpecVersion(SpecVersion.parse(attributes.path("specversion").asText()));
    for (Iterator<Map.Entry<String, JsonNode>> it = attributes.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> a = it.next();
      if (!a.getKey().equals("specversion")) builder.withContextAttribute(a.getKey(), a.getValue().asText());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = in.path("extensions").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode v = e.getValue();
      if (v.isBoolean()) builder.withExtension(e.getKey(), v.booleanValue());
      else if (v.isIntegralNumber()) builder.withExtension(e.getKey(), Integer.valueOf(v.intValue()));
      else builder.withExtension(e.getKey(), v.asText());
    }
    JsonNode data = in.get("data_base64");
    if (data != null && !data.isNull()) builder.withData(Base64.getDecoder().decode(data.asText()));
    return builder.build();
  }

  private static ObjectNode serialize(CloudEvent event, Map<String, Object> config) {
    // The key upstream gives a record: the partitionkey extension, through the SDK's interceptor.
    ProducerRecord<Object, CloudEvent> record =
        new PartitionKeyExtensionInterceptor().onSend(new ProducerRecord<>(TOPIC, event));
    CloudEventSerializer serializer = new CloudEventSerializer();
    serializer.configure(config, false);
    RecordHeaders headers = new RecordHeaders();
    byte[] value = serializer.serialize(TOPIC, headers, record.value());
    ObjectNode out = JSON.createObjectNode();
    Object key = record.key();
    if (key == null) {
      out.putNull("key");
    } else {
      out.put("key", String.valueOf(key));
      out.put("key_type", key.getClass().getSimpleName());
    }
    ArrayNode list = out.putArray("headers");
    for (Header h : headers) {
      ArrayNode pair = list.addArray();
      pair.add(h.key());
      if (h.value() == null) pair.addNull();
      else pair.add(Base64.getEncoder().encodeToString(h.value()));
    }
    if (value == null) out.putNull("value");
    else out.put("value", Base64.getEncoder().encodeToString(value));
    return out;
  }

  // ---- read ----

  private static ObjectNode read(JsonNode in) {
    ObjectNode result = JSON.createObjectNode();
    try {
      RecordHeaders headers = new RecordHeaders();
      for (JsonNode pair : in.path("headers")) {
        JsonNode v = pair.get(1);
        headers.add(pair.get(0).asText(), v == null || v.isNull() ? null : Base64.getDecoder().decode(v.asText()));
      }
      JsonNode v = in.get("value");
      byte[] value = v == null || v.isNull() ? null : Base64.getDecoder().decode(v.asText());
      CloudEventDeserializer deserializer = new CloudEventDeserializer();
      deserializer.configure(Map.of(), false);
      CloudEvent event = deserializer.deserialize(TOPIC, headers, value);
      result.put("ok", true);
      result.set("event", describe(event));
    } catch (RuntimeException e) {
      result.put("ok", false);
      result.put("error", errorOf(e));
    }
    return result;
  }

  private static ObjectNode describe(CloudEvent event) {
    ObjectNode out = JSON.createObjectNode();
    ObjectNode attributes = out.putObject("attributes");
    for (String name : event.getAttributeNames()) {
      Object v = event.getAttribute(name);
      if (v != null) attributes.put(name, canonical(v));
    }
    ObjectNode extensions = out.putObject("extensions");
    for (String name : event.getExtensionNames()) {
      Object v = event.getExtension(name);
      if (v instanceof Boolean) extensions.put(name, (Boolean) v);
      else if (v instanceof Integer) extensions.put(name, (Integer) v);
      else extensions.put(name, canonical(v));
    }
    CloudEventData data = event.getData();
    if (data != null) {
      out.put("data_base64", Base64.getEncoder().encodeToString(data.toBytes()));
      out.put("data_class", data.getClass().getSimpleName());
    }
    return out;
  }

  private static String canonical(Object v) {
    if (v instanceof OffsetDateTime) return Time.writeTime((OffsetDateTime) v);
    if (v instanceof URI) return v.toString();
    if (v instanceof byte[]) return Base64.getEncoder().encodeToString((byte[]) v);
    if (v instanceof SpecVersion) return v.toString();
    return String.valueOf(v);
  }

  private static String errorOf(Throwable e) {
    StringBuilder s = new StringBuilder(e.getClass().getSimpleName()).append(": ").append(e.getMessage());
    for (Throwable c = e.getCause(); c != null && c != e; c = c.getCause()) {
      s.append(" (caused by ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append(')');
    }
    return s.toString();
  }
}
