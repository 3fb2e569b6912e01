export * from './event';
export { SPEC_VERSIONS, validateEvent, type AttributeError } from './attributes';
export { type ParseResult, fromJsonFormat, toJsonFormat } from './json-format';
export { parseHttp, toBinary, toStructured } from './http';
export { type HeaderEncoding, HEADER_ENCODINGS } from './header-encoding';
export { isCloudEventsBatch } from './media-type';
