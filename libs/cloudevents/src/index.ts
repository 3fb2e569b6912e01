export * from './event';
export { SPEC_VERSIONS, validateEvent, type AttributeError } from './attributes';
export { type ParseResult, fromJsonFormat, toJsonFormat } from './json-format';
export { parseHttp, pushBinaryHeaders, toBinary, toStructured } from './http';
export { type HeaderEncoding, HEADER_ENCODINGS } from './header-encoding';
export { isCloudEventsBatch } from './media-type';
export {
  type KafkaRecord,
  type KafkaRecordInput,
  type KafkaHeaders,
  type KafkaHeaderValue,
  type MessageContentMode,
  KAFKA_STRUCTURED_CONTENT_TYPE,
  parseKafkaRecord,
  toKafkaRecord,
} from './kafka';
export {
  type NatsMessage,
  type NatsHeaders,
  NATS_STRUCTURED_CONTENT_TYPE,
  parseNatsMessage,
  toNatsMessage,
} from './nats';
