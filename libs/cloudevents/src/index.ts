export * from './event';
export { SPEC_VERSIONS, validateEvent, type AttributeError } from './attributes';
export { type ParseResult, fromJsonFormat, toJsonFormat } from './json-format';
export { parseHttp, toBinary, toStructured } from './http';
export { isCloudEventsBatch } from './media-type';
